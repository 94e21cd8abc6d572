/*
 * steer.h - what kern/steer.bpf.c and userspace share about Call-ID steering.
 *
 * Owns: the map layouts of the sk_reuseport program (names, key and value
 * types, sizes), the counter ids, and the Call-ID scanner itself
 * (steer_scan_step / steer_scan_finish). The scanner is a byte-at-a-time
 * state machine written once here, so that the BPF program and the
 * userspace fallback (user/steer/) run the very same code and cannot
 * disagree on which Call-ID a datagram carries (invariant 1 of DESIGN.md).
 * Does not own: the hash itself (sipshard/hash.h) or loading/attaching
 * (user/steer/steer.c).
 *
 * Must compile with clang -target bpf as well as in userspace: only
 * <linux/types.h> types, no library calls, no arrays of constants.
 *
 * The scanning rule, in full:
 *  - only the first STEER_SCAN_MAX bytes of the UDP payload are looked at
 *    (the "window"); a datagram with fewer than STEER_MIN_PAYLOAD bytes is
 *    not scanned at all;
 *  - a header name counts only at a line start, i.e. right after a '\n'
 *    (so never in the start line); names are "Call-ID" or the compact "i",
 *    ASCII case-insensitive, followed by optional SP/HTAB and then ':';
 *  - the scan ends, with no Call-ID, at the first empty line (end of the
 *    header section: the body is never searched);
 *  - the first matching header wins; its value is hashed exactly as
 *    shard_hash_callid() does: leading SP/HTAB skipped, stop at CR, LF, SP
 *    or HTAB, at most SHARD_CALLID_MAX bytes;
 *  - an empty value means "no Call-ID";
 *  - a value that runs into the window edge (no terminator, fewer than
 *    SHARD_CALLID_MAX bytes) counts only if the window holds the whole
 *    datagram (the datagram's end terminates it, as it does for
 *    shard_hash_callid); otherwise it means "no Call-ID", because hashing a
 *    cut value would give an answer that differs from the full Call-ID.
 *  So whenever the scanner reports a hash, it equals shard_hash_callid() of
 *  the value as a full parser sees it.
 */
#ifndef SIPSHARD_STEER_H
#define SIPSHARD_STEER_H

#include <linux/types.h>
#include "sipshard/hash.h"

/* Payload bytes scanned for a Call-ID. 2048 covers the header section of
 * real INVITEs (Call-ID rarely sits beyond the first 1 KiB even behind
 * several Via and Record-Route lines). The BPF side walks the window with
 * bpf_loop, so the verifier cost does not depend on this value; it only
 * sizes the per-CPU scratch buffer. Must be a power of two (the BPF side
 * masks indexes with it). */
#define STEER_SCAN_MAX 2048
/* A SIP message shorter than this cannot hold a start line and a Call-ID. */
#define STEER_MIN_PAYLOAD 16
/* The UDP header that precedes the payload in the sk_reuseport context. */
#define STEER_UDP_HDR 8

/* Outcome of one datagram; exactly one is counted per datagram seen by the
 * program (map steer_counts, PERCPU_ARRAY, key = id, value = __u64). */
enum steer_counter {
	STEER_CNT_STEERED = 0,	 /* selected the bucket's worker socket */
	STEER_CNT_NO_CALLID,	 /* no usable Call-ID: kernel default choice */
	STEER_CNT_TOO_SHORT,	 /* payload < STEER_MIN_PAYLOAD: default choice */
	STEER_CNT_SELECT_FAILED, /* bpf_sk_select_reuseport failed (no socket in
				  * the worker's slot, bad table): default choice */
	STEER_CNT_NOT_UDP,	 /* not a UDP datagram: default choice */
	STEER_CNT_LOAD_FAILED,	 /* bpf_skb_load_bytes failed: default choice */
	STEER_CNT_EMPTY,	 /* no payload at all: default choice, and the
				  * socket's filter drops it (user/net/udp.c) */
	STEER_CNT_NR
};

/* Map names (as in the skeleton) and layouts:
 *  steer_socks    REUSEPORT_SOCKARRAY  key __u32 worker  value __u64 socket fd
 *                 (userspace writes fds, the kernel stores sockets),
 *                 SHARD_MAX_WORKERS entries
 *  steer_buckets  ARRAY         key __u32 bucket  value __u32 worker,
 *                 SHARD_NBUCKETS entries
 *  steer_counts   PERCPU_ARRAY  key enum steer_counter  value __u64
 *  steer_wcounts  PERCPU_ARRAY  key __u32 worker  value __u64 steered
 *                 datagrams, SHARD_MAX_WORKERS entries
 *  steer_last     PERCPU_ARRAY  key 0  value struct steer_last (for tests
 *                 and debugging: the newest entry over all CPUs, by ns, is
 *                 the last datagram the program scanned)
 *  steer_scratch  PERCPU_ARRAY  key 0  value struct steer_scratch */

struct steer_last {
	__u64 ns;     /* bpf_ktime_get_ns() when written; 0 = never */
	__u32 hash;   /* shard_hash_callid() of the Call-ID, if found */
	__u32 found;  /* 1 if a Call-ID was found */
	__u32 reason; /* enum steer_counter counted for this datagram */
	__u32 worker; /* the worker looked up, if found */
};

struct steer_scratch {
	__u8 buf[STEER_SCAN_MAX];
};

/* ---- the scanner ---------------------------------------------------------- */

enum steer_scan_state {
	STEER_ST_LINE_START = 0, /* just after '\n' (the start line is skipped) */
	STEER_ST_START_LINE,	 /* inside the start line */
	STEER_ST_SKIP_LINE,	 /* inside a line that is not a Call-ID header */
	STEER_ST_CR_AT_START,	 /* '\r' at a line start: an empty line if '\n' */
	STEER_ST_NAME,		 /* matched k bytes of "call-id" */
	STEER_ST_COMPACT,	 /* matched the compact name "i" */
	STEER_ST_PRE_COLON,	 /* name done, SP/HTAB before ':' */
	STEER_ST_VALUE_WS,	 /* after ':', skipping leading SP/HTAB */
	STEER_ST_VALUE,		 /* hashing the value, k bytes so far */
	STEER_ST_FOUND,		 /* final: hash holds the Call-ID hash */
	STEER_ST_NONE,		 /* final: no Call-ID */
};

struct steer_scan {
	__u32 state; /* enum steer_scan_state */
	__u32 k;     /* name bytes matched, or value bytes hashed */
	__u32 hash;  /* FNV-1a state while hashing, result when FOUND */
	__u32 pad;
};

static inline void steer_scan_init(struct steer_scan *st)
{
	st->state = STEER_ST_START_LINE;
	st->k = 0;
	st->hash = SHARD_FNV_OFFSET;
	st->pad = 0;
}

/* ASCII lower case; other bytes unchanged (c | 0x20 would turn '\r' into '-'). */
static inline __u8 steer_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? (__u8)(c + ('a' - 'A')) : c;
}

/* Byte k of "call-id"; a switch rather than a string so that the BPF object
 * needs no .rodata. */
static inline __u8 steer_name_char(__u32 k)
{
	switch (k) {
	case 0:
		return 'c';
	case 1:
		return 'a';
	case 2:
	case 3:
		return 'l';
	case 4:
		return '-';
	case 5:
		return 'i';
	default:
		return 'd';
	}
}

#define STEER_NAME_LEN 7 /* strlen("call-id") */

/* A byte that may not appear in a header line before the colon. */
static inline int steer_is_ws(__u8 c)
{
	return c == ' ' || c == '\t';
}

/* Starts the value: c is the first byte after the leading white space. */
static inline int steer_scan_value_byte(struct steer_scan *st, __u8 c)
{
	if (shard_callid_end(c)) {
		st->state = st->state == STEER_ST_VALUE_WS ? STEER_ST_NONE : STEER_ST_FOUND;
		return 1;
	}
	st->state = STEER_ST_VALUE;
	st->hash = shard_hash_step(st->hash, c);
	st->k++;
	if (st->k >= SHARD_CALLID_MAX) {
		st->state = STEER_ST_FOUND;
		return 1;
	}
	return 0;
}

/* Feeds one byte. Returns 1 when the scan has reached a final state (FOUND
 * or NONE) and no more bytes are needed, 0 to continue. */
static inline int steer_scan_step(struct steer_scan *st, __u8 c)
{
	__u8 l = steer_lower(c);

	switch (st->state) {
	case STEER_ST_START_LINE:
	case STEER_ST_SKIP_LINE:
		if (c == '\n')
			st->state = STEER_ST_LINE_START;
		return 0;
	case STEER_ST_LINE_START:
		if (c == '\n') {
			st->state = STEER_ST_NONE; /* empty line: end of headers */
			return 1;
		}
		if (c == '\r')
			st->state = STEER_ST_CR_AT_START;
		else if (l == 'c') {
			st->state = STEER_ST_NAME;
			st->k = 1;
		} else if (l == 'i')
			st->state = STEER_ST_COMPACT;
		else
			st->state = STEER_ST_SKIP_LINE;
		return 0;
	case STEER_ST_CR_AT_START:
		if (c == '\n') {
			st->state = STEER_ST_NONE;
			return 1;
		}
		st->state = STEER_ST_SKIP_LINE;
		return 0;
	case STEER_ST_NAME:
		if (l == steer_name_char(st->k)) {
			st->k++;
			if (st->k == STEER_NAME_LEN)
				st->state = STEER_ST_PRE_COLON;
			return 0;
		}
		st->state = c == '\n' ? STEER_ST_LINE_START : STEER_ST_SKIP_LINE;
		return 0;
	case STEER_ST_COMPACT:
	case STEER_ST_PRE_COLON:
		if (c == ':') {
			st->state = STEER_ST_VALUE_WS;
			st->k = 0;
			st->hash = SHARD_FNV_OFFSET;
		} else if (steer_is_ws(c))
			st->state = STEER_ST_PRE_COLON;
		else
			st->state = c == '\n' ? STEER_ST_LINE_START : STEER_ST_SKIP_LINE;
		return 0;
	case STEER_ST_VALUE_WS:
		if (steer_is_ws(c))
			return 0;
		return steer_scan_value_byte(st, c);
	case STEER_ST_VALUE:
		return steer_scan_value_byte(st, c);
	default:
		return 1;
	}
}

/* Called after the last byte of the window was fed (or the scan stopped).
 * whole: the window held the entire payload. Returns 1 and leaves the hash
 * in st->hash if a Call-ID was found, 0 otherwise. */
static inline int steer_scan_finish(struct steer_scan *st, int whole)
{
	if (st->state == STEER_ST_VALUE && whole)
		st->state = STEER_ST_FOUND;
	if (st->state != STEER_ST_FOUND)
		st->state = STEER_ST_NONE;
	return st->state == STEER_ST_FOUND;
}

#endif
