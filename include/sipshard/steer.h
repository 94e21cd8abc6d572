/*
 * steer.h - what kern/steer.bpf.c and userspace share about Call-ID steering.
 *
 * Owns: the map layouts of the sk_reuseport program (names, key and value
 * types, sizes), the counter ids, and the Call-ID scanner itself
 * (steer_scan_step / steer_scan_finish). The scanner is a byte-at-a-time
 * state machine written once here, with the shortcuts that make it fast
 * (steer_scan_skip, steer_scan_call_id_line, steer_scan_value_run: whole
 * lines passed over eight bytes at a time, "Call-ID:" and its value taken
 * in one go), which reach exactly what the machine reaches fed every byte
 * (tests/unit/test_steer.c and tests/fuzz/fuzz_sip.c check it against
 * tests/common/steer_ref.h). The BPF program and the userspace fallback
 * (user/steer/) run the very same code and cannot disagree on which Call-ID
 * a datagram carries (invariant 1 in README.md).
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

/* The window, and eight bytes more so that an eight-byte load at any index
 * below STEER_SCAN_MAX stays inside the map value (steer_scan_skip reads
 * only whole words inside the window; the verifier checks the bound). The
 * scan's state and place are kept here too, not on the stack: the verifier
 * knows nothing of a map value's contents, so it checks the bpf_loop body
 * once for any state and place rather than once for each it could work
 * out, which it gives up on. */
struct steer_scratch {
	__u8 buf[STEER_SCAN_MAX + 8];
	struct steer_scan st;
	__u32 pos; /* the next byte of buf the BPF scan feeds */
	__u32 n;   /* the window's length */
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

/* ---- passing over a line's bytes eight at a time -----------------------------
 * In STEER_ST_START_LINE and STEER_ST_SKIP_LINE (the start line, and every
 * header line that is not a Call-ID: nearly all the bytes before it) the
 * scanner waits for '\n' and every other byte leaves it as it is; after
 * the '\n', a first byte that cannot begin "Call-ID", "i" or the empty
 * line puts it back in STEER_ST_SKIP_LINE. So a scan may jump over such
 * lines, finding each '\n' eight bytes at a time, and feed bytes one by
 * one only from the '\n' before a line that matters: it ends exactly as
 * if it had fed every byte, in far fewer steps (what a BPF program pays
 * for: its bpf_loop calls, each an indirect call in the kernel). */

/* Whether the scan, in its state now, passes over every byte but '\n'. */
static inline int steer_scan_skipping(const struct steer_scan *st)
{
	return st->state == STEER_ST_START_LINE || st->state == STEER_ST_SKIP_LINE;
}

#ifdef __bpf__
/* The verifier allows a load at any offset of a map value on a CPU with
 * efficient unaligned access, as x86 and arm64 have. */
#define steer_load64(p) (*(const __u64 *)(const void *)(p))
#else
static inline __u64 steer_load64(const __u8 *p)
{
	__u64 w;

	__builtin_memcpy(&w, p, sizeof(w)); /* unaligned, without undefined behaviour */
	return w;
}
#endif

#define STEER_ONES  0x0101010101010101ULL
#define STEER_HIGHS 0x8080808080808080ULL

/* The index (0 to 7) of the first '\n' of the eight bytes loaded into w, or
 * 8 when there is none. The zero-byte test flags the first zero byte of
 * w ^ "\n\n..." exactly (only bytes after it may be flagged wrongly), and
 * the first byte in memory is the lowest of a little-endian word. BPF has
 * no count-trailing-zeros: the lowest flag, 1 << (8k + 7), shifted down to
 * 1 << 8k, times bytes 7, 6 ... 0 from the lowest up, puts k in the top
 * byte; and no branch but one, which keeps the verifier's paths few. */
static inline __u32 steer_lf_in_word(__u64 w)
{
	__u64 x = w ^ (STEER_ONES * '\n');
	__u64 m = (x - STEER_ONES) & ~x & STEER_HIGHS;

	if (!m)
		return 8;
	return (__u32)((((m & -m) >> 7) * 0x0001020304050607ULL) >> 56);
}

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "steer_lf_in_word reads words as little-endian"
#endif

/* Whether a header line whose first byte is c is one the scan looks into:
 * the start of a Call-ID ("call-id" or "i", in any case) or the empty line
 * that ends the headers; any other first byte makes the scanner skip the
 * line (STEER_ST_LINE_START). */
static inline int steer_line_start_matters(__u8 c)
{
	/* '\n', '\r' (bits 10, 13 of bytes 0-63) and 'C', 'I', 'c', 'i' (bits
	 * 3, 9, 35, 41 of bytes 64-127) picked without a branch: each branch
	 * of a BPF loop's body multiplies the paths its verifier walks */
	const __u64 lo = (1ULL << '\n') | (1ULL << '\r');
	const __u64 hi = (1ULL << ('C' - 64)) | (1ULL << ('I' - 64)) | (1ULL << ('c' - 64)) |
			 (1ULL << ('i' - 64));
	__u64 upper = -(__u64)((c >> 6) & 1); /* all ones for bytes 64-127 */
	__u64 set = (lo & ~upper) | (hi & upper);

	return (int)((set >> (c & 63)) & 1 & (1u - (c >> 7)));
}

/* For a skipping scan (steer_scan_skipping) at index *pos of a window of n
 * bytes (n <= STEER_SCAN_MAX): passes over the rest of this line and over
 * every following line whose first byte does not matter, as the scanner
 * would byte by byte (leaving it in STEER_ST_SKIP_LINE once it passed a
 * '\n'). Stops at the '\n' before a line that matters, or where fewer
 * than eight bytes are left, or after max_words words, with *pos there;
 * the scan goes on from there with steer_scan_step. Only whole words of
 * the window are read. The place is read back from *pos at each word: in
 * BPF it lies in the map value (struct steer_scratch), which the verifier
 * knows nothing of, so every way through a word ends in one state and the
 * words cost it one path each, not twice as many as the word before. */
static inline void steer_scan_skip(struct steer_scan *st, const __u8 *buf, __u32 *pos, __u32 n,
				   __u32 max_words)
{
	for (__u32 w = 0; w < max_words; w++) {
		__u32 i = *pos;
		if (i + 8 > n)
			return;
		__u32 k = steer_lf_in_word(steer_load64(buf + (i & (STEER_SCAN_MAX - 1))));
		if (k == 8) {
			*pos = i + 8;
			continue;
		}
		i += k;
		*pos = i;
		if (i + 1 >= n || steer_line_start_matters(buf[(i + 1) & (STEER_SCAN_MAX - 1)]))
			return;
		st->state = STEER_ST_SKIP_LINE; /* the '\n' and that first byte, fed */
		*pos = i + 2;
	}
}

/* For a skipping scan whose next byte, at *pos, is a '\n': when the line
 * after it starts "Call-ID:" in any letter case (no white space before the
 * colon, as senders write it), feeds those nine bytes at once, as
 * steer_scan_step would one by one, which leaves the scan in
 * STEER_ST_VALUE_WS; else feeds nothing. OR 0x20 maps onto a letter only
 * that letter in either case; '-' and ':' are compared as they are. */
static inline void steer_scan_call_id_line(struct steer_scan *st, const __u8 *buf, __u32 *pos,
					   __u32 n)
{
	const __u64 fold = 0x0020200020202020ULL; /* bytes 0-3, 5, 6 */
	const __u64 name = 0x3a64692d6c6c6163ULL; /* "call-id:" */
	__u32 i = *pos;

	if (i + 9 > n || buf[i & (STEER_SCAN_MAX - 1)] != '\n' ||
	    (steer_load64(buf + ((i + 1) & (STEER_SCAN_MAX - 1))) | fold) != name)
		return;
	st->state = STEER_ST_VALUE_WS;
	st->k = 0;
	st->hash = SHARD_FNV_OFFSET;
	*pos = i + 9;
}

/* For a scan in STEER_ST_VALUE at index *pos of a window of n bytes: feeds
 * the Call-ID's bytes, max of them at most, exactly as steer_scan_step
 * would, and leaves *pos after the last one fed; the scan is then FOUND
 * (the value ended, or SHARD_CALLID_MAX bytes were hashed), or still in
 * VALUE at the window's end or after max bytes. Reads *pos back at each
 * byte, as steer_scan_skip does. */
static inline void steer_scan_value_run(struct steer_scan *st, const __u8 *buf, __u32 *pos, __u32 n,
					__u32 max)
{
	for (__u32 j = 0; j < max; j++) {
		__u32 i = *pos;
		if (i >= n)
			return;
		__u8 c = buf[i & (STEER_SCAN_MAX - 1)];
		*pos = i + 1;
		if (shard_callid_end(c)) {
			st->state = STEER_ST_FOUND;
			return;
		}
		st->hash = shard_hash_step(st->hash, c);
		if (++st->k >= SHARD_CALLID_MAX) {
			st->state = STEER_ST_FOUND;
			return;
		}
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
