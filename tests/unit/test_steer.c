/*
 * test_steer.c - the Call-ID steering program, loaded into the real kernel.
 *
 * Covers: the userspace scanner's rules on their own (no privileges needed);
 * then, with the program attached to 2 and 4 SO_REUSEPORT sockets on
 * 127.0.0.1, that each datagram reaches the socket bucket_table[hash % 256]
 * predicts, that the kernel's hash equals shard_hash_callid() bit for bit,
 * that outcomes are counted by reason and by worker, that moving a bucket
 * moves its calls, that a closed worker socket is a counted fallback, and
 * that the userspace scanner and the BPF program agree on random hostile
 * datagrams (any byte, NUL included, folded lines, CR and LF before the start
 * line, Call-IDs on the window's edge), over IPv4, IPv6 and from IPv4 to a
 * dual-stack group. Without the privilege to load BPF, the kernel tests skip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "sipshard/hash.h"
#include "sipshard/steer.h"
#include "steer/steer.h"

#include "../common/steer_ref.h"

#define MAX_SOCKS 4
#define DGRAM_MAX 4096

struct group {
	int fds[MAX_SOCKS];
	unsigned n;
	int tx;
	struct sockaddr_storage dst;
	socklen_t dst_len;
	struct steer_ctx *s;
	uint32_t table[SHARD_NBUCKETS];
};

/* ---- helpers --------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static unsigned rnd(unsigned n)
{
	return (unsigned)(rng() % n);
}

static void seed_rng(void)
{
	const char *env = getenv("STEER_SEED");

	rng_state = env ? strtoull(env, NULL, 0) : 0x5eed5eed1234ULL;
	if (!rng_state)
		rng_state = 1;
	print_message("steer: STEER_SEED=0x%llx\n", (unsigned long long)rng_state);
}

/* Opens the program or skips the test when this process may not load BPF. */
static struct steer_ctx *open_or_skip(void)
{
	struct steer_ctx *s = NULL;
	char err[256];
	int rc = steer_open(&s, err, sizeof(err));

	if (rc == -EPERM || rc == -EACCES) {
		print_message("SKIP: cannot load BPF here (%s)\n", err);
		skip();
	}
	if (rc)
		fail_msg("steer_open: %d (%s)", rc, err);
	assert_non_null(s);
	assert_string_equal(err, "");
	return s;
}

static int reuseport_socket(int af)
{
	int one = 1;
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	return fd;
}

/* n sockets in one SO_REUSEPORT group on 127.0.0.1:<ephemeral> (AF_INET),
 * [::1] (AF_INET6) or dual-stack [::] reached at 127.0.0.1 (AF_UNSPEC, as the
 * daemon listening on "[::]" gets IPv4 peers), the program attached, and a
 * sender socket outside the group. */
static void group_open_af(struct group *g, unsigned n, int af)
{
	const bool dual = af == AF_UNSPEC;
	int zero = 0;

	if (dual)
		af = AF_INET6;
	struct sockaddr_storage a;
	socklen_t alen = af == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	unsigned i;
	int rc;

	memset(g, 0, sizeof(*g));
	g->n = n;
	g->s = open_or_skip();
	memset(&a, 0, sizeof(a));
	if (af == AF_INET6) {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a;
		v6->sin6_family = AF_INET6;
		v6->sin6_addr = dual ? in6addr_any : in6addr_loopback;
	} else {
		struct sockaddr_in *v4 = (struct sockaddr_in *)&a;
		v4->sin_family = AF_INET;
		v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	for (i = 0; i < n; i++) {
		g->fds[i] = reuseport_socket(af);
		if (dual)
			assert_int_equal(
			    setsockopt(g->fds[i], IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)),
			    0);
		assert_int_equal(bind(g->fds[i], (struct sockaddr *)&a, alen), 0);
		if (i == 0) {
			assert_int_equal(getsockname(g->fds[0], (struct sockaddr *)&a, &alen), 0);
			/* sin_port and sin6_port lie at the same offset */
			assert_int_not_equal(((struct sockaddr_in *)&a)->sin_port, 0);
		}
	}
	g->dst = a;
	g->dst_len = alen;
	if (dual) {
		struct sockaddr_in v4 = {.sin_family = AF_INET,
					 .sin_port = ((struct sockaddr_in6 *)&a)->sin6_port,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		memset(&g->dst, 0, sizeof(g->dst));
		memcpy(&g->dst, &v4, sizeof(v4));
		g->dst_len = sizeof(v4);
		af = AF_INET;
	}
	g->tx = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(g->tx >= 0);
	rc = steer_attach(g->s, g->fds, n);
	if (rc)
		fail_msg("steer_attach: %d (%s)", rc, steer_error(g->s));
	for (i = 0; i < SHARD_NBUCKETS; i++)
		g->table[i] = i % n;
}

static void group_open(struct group *g, unsigned n)
{
	group_open_af(g, n, AF_INET);
}

static void group_close(struct group *g)
{
	unsigned i;

	for (i = 0; i < g->n; i++)
		if (g->fds[i] >= 0)
			close(g->fds[i]);
	if (g->tx >= 0)
		close(g->tx);
	steer_close(g->s);
}

/* Sends one datagram and returns the index of the group socket that got it
 * (checking the bytes), failing the test if none did within a second or if
 * a second socket also holds something. */
static int send_and_find(struct group *g, const char *buf, size_t len)
{
	static char rx[DGRAM_MAX + 1];
	struct pollfd p[MAX_SOCKS];
	int got = -1, tries;
	unsigned i;
	ssize_t r;

	r = sendto(g->tx, buf, len, 0, (struct sockaddr *)&g->dst, g->dst_len);
	assert_int_equal(r, (ssize_t)len);
	for (tries = 0; tries < 100 && got < 0; tries++) {
		for (i = 0; i < g->n; i++) {
			p[i].fd = g->fds[i]; /* a closed worker (-1) is ignored by poll */
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		assert_true(poll(p, g->n, 10) >= 0);
		for (i = 0; i < g->n; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			r = recv(g->fds[i], rx, sizeof(rx), MSG_DONTWAIT);
			assert_int_equal(r, (ssize_t)len);
			assert_memory_equal(rx, buf, len);
			assert_int_equal(got, -1);
			got = (int)i;
		}
	}
	if (got < 0)
		fail_msg("datagram of %zu bytes reached no socket", len);
	for (i = 0; i < g->n; i++) {
		if (g->fds[i] < 0)
			continue;
		r = recv(g->fds[i], rx, sizeof(rx), MSG_DONTWAIT);
		assert_int_equal(r, -1);
		assert_int_equal(errno, EAGAIN);
	}
	return got;
}

static void read_counters(struct group *g, struct steer_counters *c)
{
	int rc = steer_read_counters(g->s, c);

	if (rc)
		fail_msg("steer_read_counters: %d (%s)", rc, steer_error(g->s));
}

static void read_last(struct group *g, struct steer_last *l)
{
	int rc = steer_read_last(g->s, l);

	if (rc)
		fail_msg("steer_read_last: %d (%s)", rc, steer_error(g->s));
}

static uint32_t hash_str(const char *cid)
{
	return shard_hash_callid(cid, (uint32_t)strlen(cid));
}

/* A Call-ID: RFC 3261 "word" characters, some '@host'. */
static void random_callid(char *out, size_t maxlen)
{
	static const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789-.!%*_+`'~()<>:\\\"/[]?{}";
	size_t len = 1 + rnd((unsigned)maxlen), i;

	for (i = 0; i < len; i++)
		out[i] = word[rnd(sizeof(word) - 1)];
	if (len > 6 && rnd(2))
		out[len - 6] = '@';
	out[len] = '\0';
}

/* Header lines a request carries before and after its Call-ID. */
static const char *const fillers[] = {
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-74bf9",
    "Max-Forwards: 70",
    "From: <sip:alice@127.0.0.1>;tag=9fxced76sl",
    "To: <sip:bob@127.0.0.1>;tag=8321234356",
    "CSeq: 314159 BYE",
    "Contact: <sip:alice@127.0.0.1:5070>",
    "Record-Route: <sip:127.0.0.1;lr>",
    "User-Agent: test-steer",
    "Content-Length: 0",
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS",
    "Supported: 100rel, timer",
    "In-Reply-To: 70710@saturn.bell-tel.com",
    "Identity-Info: <https://127.0.0.1/cert>",
    "Accept: application/sdp",
};
#define NFILLERS (sizeof(fillers) / sizeof(fillers[0]))

/* Builds a request whose Call-ID header is `line` (already formatted),
 * placed after `before` filler headers, with `eol` line endings and an
 * optional body. Returns the length. */
static size_t build_request(char *buf, size_t cap, const char *line, unsigned before,
			    const char *eol, const char *body)
{
	size_t n = 0;
	unsigned i;
	int w;

	w = snprintf(buf, cap, "BYE sip:bob@127.0.0.1:5060 SIP/2.0%s", eol);
	assert_true(w > 0 && (size_t)w < cap);
	n = (size_t)w;
	for (i = 0; i < before; i++) {
		w = snprintf(buf + n, cap - n, "%s%s", fillers[i % NFILLERS], eol);
		assert_true(w > 0 && (size_t)w < cap - n);
		n += (size_t)w;
	}
	w = snprintf(buf + n, cap - n, "%s%s%s%s%s%s", line, eol, fillers[0], eol, eol,
		     body ? body : "");
	assert_true(w > 0 && (size_t)w < cap - n);
	return n + (size_t)w;
}

/* ---- userspace scanner alone ----------------------------------------------- */

static void expect_scan(const char *msg, const char *want_cid)
{
	uint32_t h = 0;
	int found = steer_callid_hash(msg, strlen(msg), &h);

	if (!want_cid) {
		if (found)
			fail_msg("found a Call-ID in: %s", msg);
		return;
	}
	if (!found)
		fail_msg("no Call-ID found in: %s", msg);
	assert_int_equal(h, hash_str(want_cid));
}

static void test_scanner_rules(void **state)
{
	(void)state;
	/* accepted forms */
	expect_scan("BYE sip:b SIP/2.0\r\nCall-ID: abc@h\r\n\r\n", "abc@h");
	expect_scan("BYE sip:b SIP/2.0\r\ni: abc@h\r\n\r\n", "abc@h");
	expect_scan("BYE sip:b SIP/2.0\r\nI:abc@h\r\n\r\n", "abc@h");
	expect_scan("BYE sip:b SIP/2.0\r\nCALL-id \t : \t abc@h \r\n\r\n", "abc@h");
	expect_scan("BYE sip:b SIP/2.0\nVia: x\ncall-ID:abc;x=1\n\n", "abc;x=1");
	expect_scan("BYE sip:b SIP/2.0\r\nCall-ID: abc def\r\n\r\n", "abc");
	/* the datagram's end terminates a value when the window holds it all */
	expect_scan("BYE sip:b SIP/2.0\r\nCall-ID: abc", "abc");
	/* first Call-ID wins */
	expect_scan("BYE sip:b SIP/2.0\r\ni: one\r\nCall-ID: two\r\n\r\n", "one");
	/* rejected */
	expect_scan("Call-ID: abc SIP/2.0\r\nVia: x\r\n\r\n", NULL);		  /* start line */
	expect_scan("BYE sip:b SIP/2.0\r\nX-Call-ID: abc\r\n\r\n", NULL);	  /* not at start */
	expect_scan("BYE sip:b SIP/2.0\r\nCall-IDs: abc\r\n\r\n", NULL);	  /* other name */
	expect_scan("BYE sip:b SIP/2.0\r\nCall-I: abc\r\n\r\n", NULL);		  /* short name */
	expect_scan("BYE sip:b SIP/2.0\r\n Call-ID: abc\r\n\r\n", NULL);	  /* folded line */
	expect_scan("BYE sip:b SIP/2.0\r\nCall-ID abc\r\n\r\n", NULL);		  /* no colon */
	expect_scan("BYE sip:b SIP/2.0\r\nIn-Reply-To: abc\r\n\r\n", NULL);	  /* i-word */
	expect_scan("BYE sip:b SIP/2.0\r\nCall-ID:\r\ni: x\r\n\r\n", NULL);	  /* empty */
	expect_scan("BYE sip:b SIP/2.0\r\nCall-ID:   \r\n\r\n", NULL);		  /* blank */
	expect_scan("BYE sip:b SIP/2.0\r\nCall\rID: abc\r\n\r\n", NULL);	  /* CR not '-' */
	expect_scan("BYE sip:b SIP/2.0\r\nVia: x\r\n\r\nCall-ID: abc\r\n", NULL); /* body */
	expect_scan("BYE sip:b SIP/2.0\r\nVia: x\n\ni: abc\r\n", NULL);		  /* LF LF ends */
	expect_scan("Call-ID: abcdefg", NULL); /* too short (15 bytes) */
	expect_scan("", NULL);
	assert_int_equal(steer_callid_hash(NULL, 100, NULL), 0);
}

/* The window buffer: a start line, then one long header of 'a's. */
static char wbuf[STEER_SCAN_MAX + 512];

static void window_fill(void)
{
	const char *head = "BYE sip:b SIP/2.0\r\nX: ";

	memset(wbuf, 'a', sizeof(wbuf));
	memcpy(wbuf, head, strlen(head));
}

static void test_scanner_window(void **state)
{
	const size_t W = STEER_SCAN_MAX;
	char cid[SHARD_CALLID_MAX + 40];
	uint32_t h = 0;
	int found;

	(void)state;
	/* A value cut by the window edge, in a longer datagram, is not trusted:
	 * its full value ("xyzaaa...") is not what the window holds. */
	window_fill();
	memcpy(wbuf + W - 12, "\r\nCall-ID: xyz", 14); /* 'x' is the window's last byte */
	memcpy(wbuf + W + 20, "\r\n\r\n", 4);
	assert_int_equal(steer_callid_hash(wbuf, W + 24, &h), 0);
	/* When the window holds the whole datagram, its end ends the value. */
	assert_int_equal(steer_callid_hash(wbuf, W, &h), 1);
	assert_int_equal(h, hash_str("x"));
	assert_int_equal(steer_callid_hash(wbuf, W - 1, &h), 0); /* empty value */

	/* A value terminated inside the window counts in a longer datagram. */
	window_fill();
	memcpy(wbuf + W - 15, "\r\nCall-ID:abc\r\n", 15);
	assert_int_equal(steer_callid_hash(wbuf, W + 100, &h), 1);
	assert_int_equal(h, hash_str("abc"));

	/* A value of SHARD_CALLID_MAX bytes needs no terminator (the hash reads
	 * no more), even when the window ends right after it. */
	window_fill();
	memset(cid, 'q', sizeof(cid));
	cid[sizeof(cid) - 1] = '\0';
	memcpy(wbuf + W - SHARD_CALLID_MAX - 10, "\r\nCall-ID:", 10);
	memcpy(wbuf + W - SHARD_CALLID_MAX, cid, SHARD_CALLID_MAX);
	assert_int_equal(steer_callid_hash(wbuf, W + 100, &h), 1);
	assert_int_equal(h, hash_str(cid)); /* 167 'q's hash as their first 128 */
	/* One byte shorter and it is a cut value again. */
	window_fill();
	memcpy(wbuf + W - (SHARD_CALLID_MAX - 1) - 10, "\r\nCall-ID:", 10);
	memcpy(wbuf + W - (SHARD_CALLID_MAX - 1), cid, SHARD_CALLID_MAX - 1);
	assert_int_equal(steer_callid_hash(wbuf, W + 100, &h), 0);
	assert_int_equal(steer_callid_hash(wbuf, W, &h), 1); /* whole: ends at the end */
	assert_int_equal(h, shard_hash_callid(cid, SHARD_CALLID_MAX - 1));

	/* A Call-ID header that starts after the window is not seen. */
	window_fill();
	memcpy(wbuf + W + 10, "\r\nCall-ID: abc\r\n\r\n", 18);
	assert_int_equal(steer_callid_hash(wbuf, W + 28, &h), 0);

	/* bucket API */
	assert_int_equal(
	    steer_bucket_of_datagram("BYE sip:b SIP/2.0\r\ni: abc\r\n\r\n", 29, &found),
	    shard_bucket_of(hash_str("abc")));
	assert_int_equal(found, 1);
	assert_int_equal(steer_bucket_of_datagram("BYE sip:b SIP/2.0\r\n\r\n", 21, &found), 0);
	assert_int_equal(found, 0);
}

/* Leg B's Call-IDs: every bucket from every 8-bit hash state the 13 random
 * digits can leave (the three chosen digits must reach each of the 65536
 * pairs), the random digits kept as drawn, and bad arguments refused. */
static void test_callid_for_bucket(void **state)
{
	static const char hex[] = "0123456789abcdef";
	bool start_seen[256] = {false};
	unsigned starts = 0;
	char out[64];
	uint64_t rnd = 0x9e3779b97f4a7c15u;
	(void)state;

	for (unsigned r = 0; r < 4096; r++) {
		rnd = rnd * 6364136223846793005u + 1442695040888963407u;
		uint32_t h13 = SHARD_FNV_OFFSET;
		for (int i = 0; i < 13; i++)
			h13 = shard_hash_step(h13, (uint8_t)hex[(rnd >> (4 * i)) & 15]);
		if (!start_seen[h13 & 0xff]) {
			start_seen[h13 & 0xff] = true;
			starts++;
		}
		for (uint32_t b = 0; b < SHARD_NBUCKETS; b++) {
			int n = steer_callid_for_bucket(out, sizeof(out), rnd, b, "@sipshard");
			assert_int_equal(n, 25);
			assert_int_equal(strlen(out), 25);
			for (int i = 0; i < 16; i++)
				assert_non_null(strchr(hex, out[i]));
			for (int i = 0; i < 13; i++)
				assert_int_equal(out[i], hex[(rnd >> (4 * i)) & 15]);
			assert_string_equal(out + 16, "@sipshard");
			if (shard_bucket_of(hash_str(out)) != b)
				fail_msg("'%s' hashes into bucket %u, not %u", out,
					 shard_bucket_of(hash_str(out)), b);
		}
	}
	assert_int_equal(starts, 256);

	assert_int_equal(steer_callid_for_bucket(out, sizeof(out), 1, SHARD_NBUCKETS, "@x"),
			 -EINVAL);
	assert_int_equal(steer_callid_for_bucket(out, sizeof(out), 1, 0, "@a b"), -EINVAL);
	assert_int_equal(steer_callid_for_bucket(out, 18, 1, 0, "@x"), -EINVAL);
	assert_int_equal(steer_callid_for_bucket(out, 19, 1, 7, "@x"), 18);
	assert_int_equal(shard_bucket_of(hash_str(out)), 7);
	char longest[SHARD_CALLID_MAX - 16 + 2];
	memset(longest, 'q', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	char big[SHARD_CALLID_MAX + 8];
	assert_int_equal(steer_callid_for_bucket(big, sizeof(big), 1, 0, longest), -EINVAL);
	longest[sizeof(longest) - 2] = '\0'; /* 128 bytes in all: hashed whole */
	assert_int_equal(steer_callid_for_bucket(big, sizeof(big), 1, 200, longest),
			 SHARD_CALLID_MAX);
	assert_int_equal(shard_bucket_of(hash_str(big)), 200);
}

/* ---- in the kernel --------------------------------------------------------- */

/* Sends a request carrying `cid` through `line_fmt` (a printf format with one
 * %s) and checks it lands where the bucket table says, with the kernel's
 * hash equal to ours. Returns the worker. */
static unsigned send_cid(struct group *g, const char *line_fmt, const char *cid, unsigned before,
			 const char *eol, const char *body)
{
	static char line[512], buf[DGRAM_MAX];
	struct steer_last last;
	uint32_t h = hash_str(cid), uh = 0;
	unsigned want = g->table[shard_bucket_of(h)];
	size_t len;
	int got;

	snprintf(line, sizeof(line), line_fmt, cid);
	len = build_request(buf, sizeof(buf), line, before, eol, body);
	/* the fallback path's answer, computed with no kernel help */
	assert_int_equal(steer_callid_hash(buf, len, &uh), 1);
	assert_int_equal(uh, h);
	got = send_and_find(g, buf, len);
	read_last(g, &last);
	assert_int_equal(last.found, 1);
	assert_int_equal(last.reason, STEER_CNT_STEERED);
	assert_int_equal(last.hash, h);
	assert_int_equal(last.worker, want);
	if ((unsigned)got != want)
		fail_msg("Call-ID '%s' (bucket %u) reached socket %d, table says %u", cid,
			 shard_bucket_of(h), got, want);
	return (unsigned)got;
}

static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
			  "i=Call-ID: not-this-one\r\nc=IN IP4 127.0.0.1\r\n"
			  "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

static void run_forms(struct group *g)
{
	struct steer_counters before, after;
	uint64_t per_worker[MAX_SOCKS] = {0};
	unsigned i, w, sent = 0;
	char cid[SHARD_CALLID_MAX + 1];

	read_counters(g, &before);
	for (i = 0; i < 24; i++) {
		random_callid(cid, 40);
		w = send_cid(g, "Call-ID: %s", cid, 0, "\r\n", NULL);
		per_worker[w]++;
		w = send_cid(g, "i: %s", cid, 3, "\r\n", NULL);
		per_worker[w]++;
		w = send_cid(g, "CALL-ID: %s", cid, 5, "\r\n", NULL);
		per_worker[w]++;
		w = send_cid(g, "call-id:     %s", cid, 1, "\r\n", NULL); /* 2nd header */
		per_worker[w]++;
		w = send_cid(g, "Call-ID: %s", cid, 19, "\r\n", NULL); /* 20th header */
		per_worker[w]++;
		w = send_cid(g, "Call-ID\t:\t%s\t", cid, 2, "\r\n", NULL);
		per_worker[w]++;
		w = send_cid(g, "I :%s ;junk", cid, 4, "\r\n", NULL);
		per_worker[w]++;
		w = send_cid(g, "Call-Id: %s", cid, 6, "\n", NULL); /* bare LF */
		per_worker[w]++;
		w = send_cid(g, "Call-ID: %s", cid, 8, "\r\n", sdp); /* with a body */
		per_worker[w]++;
		sent += 9;
	}
	read_counters(g, &after);
	assert_int_equal(after.reason[STEER_CNT_STEERED] - before.reason[STEER_CNT_STEERED], sent);
	for (i = 0; i < STEER_CNT_NR; i++)
		if (i != STEER_CNT_STEERED)
			assert_int_equal(after.reason[i], before.reason[i]);
	for (w = 0; w < g->n; w++)
		assert_int_equal(after.worker[w] - before.worker[w], per_worker[w]);
	/* random Call-IDs spread over every worker */
	for (w = 0; w < g->n; w++)
		assert_true(per_worker[w] > 0);
}

static void test_kernel_2_workers(void **state)
{
	struct group g;

	(void)state;
	group_open(&g, 2);
	run_forms(&g);
	group_close(&g);
}

static void test_kernel_4_workers(void **state)
{
	struct group g;

	(void)state;
	group_open(&g, 4);
	run_forms(&g);
	group_close(&g);
}

/* The kernel's FNV-1a equals shard_hash_callid() for a few hundred Call-IDs,
 * lengths 1..SHARD_CALLID_MAX+30 (so the 128-byte cap is crossed too). */
static void test_kernel_hash_matches(void **state)
{
	struct group g;
	char cid[SHARD_CALLID_MAX + 31];
	unsigned i;

	(void)state;
	group_open(&g, 4);
	for (i = 0; i < 300; i++) {
		random_callid(cid, sizeof(cid) - 1);
		send_cid(&g, rnd(2) ? "Call-ID: %s" : "i:%s", cid, rnd(12), "\r\n", NULL);
	}
	group_close(&g);
}

/* steer_read_run_time: the kernel counts every run of the program and its
 * time while BPF run-time statistics are on (the daemon's steering.runs and
 * steering.run_time_ns, bench/steer_bench's figures), and none when they
 * are off. */
static void test_kernel_run_time(void **state)
{
	static const char msg[] = "BYE sip:b SIP/2.0\r\nVia: x\r\nCall-ID: run-time@h\r\n\r\n";
	uint64_t ns0, runs0, ns1, runs1;
	struct group g;

	(void)state;
	group_open(&g, 2);
	int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats < 0)
		fail_msg("bpf_enable_stats: %s", strerror(errno));
	assert_int_equal(steer_read_run_time(g.s, &ns0, &runs0), 0);
	for (int i = 0; i < 50; i++)
		assert_true(send_and_find(&g, msg, sizeof(msg) - 1) >= 0);
	assert_int_equal(steer_read_run_time(g.s, &ns1, &runs1), 0);
	close(stats);
	assert_true(runs1 - runs0 >= 50);
	assert_true(ns1 > ns0);
	/* statistics off, unless another holder on the machine keeps them on */
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");
	int on = f ? fgetc(f) : '1';
	if (f)
		fclose(f);
	if (on == '0') {
		assert_int_equal(steer_read_run_time(g.s, &ns0, &runs0), 0);
		assert_true(send_and_find(&g, msg, sizeof(msg) - 1) >= 0);
		assert_int_equal(steer_read_run_time(g.s, &ns1, &runs1), 0);
		assert_true(runs1 == runs0 && ns1 == ns0);
	} else {
		print_message("steer: BPF statistics held on elsewhere: not checking they stop\n");
	}
	group_close(&g);
}

/* The kernel steers the Call-IDs made for a bucket to that bucket's worker. */
static void test_kernel_steers_made_callids(void **state)
{
	struct group g;
	char cid[64];

	(void)state;
	group_open(&g, 4);
	for (uint32_t b = 0; b < SHARD_NBUCKETS; b++) {
		assert_int_equal(
		    steer_callid_for_bucket(cid, sizeof(cid), b * 7919u, b, "@sipshard"), 25);
		unsigned w = send_cid(&g, "Call-ID: %s", cid, 0, "\r\n", NULL);
		assert_int_equal(w, g.table[b]);
	}
	group_close(&g);
}

static void expect_reason(struct group *g, const char *buf, size_t len, unsigned reason)
{
	struct steer_counters before, after;
	struct steer_last last;
	uint32_t h;
	unsigned i;

	read_counters(g, &before);
	send_and_find(g, buf, len); /* delivered somewhere: never dropped */
	read_counters(g, &after);
	for (i = 0; i < STEER_CNT_NR; i++)
		assert_int_equal(after.reason[i] - before.reason[i], i == reason ? 1 : 0);
	read_last(g, &last);
	assert_int_equal(last.reason, reason);
	assert_int_equal(last.found, 0);
	assert_int_equal(steer_callid_hash(buf, len, &h), 0);
}

static void test_kernel_reasons(void **state)
{
	static const char *const no_callid[] = {
	    "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n",
	    "Call-ID: abc SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n",
	    "BYE sip:b SIP/2.0\r\nX-Call-ID: abc\r\n\r\n",
	    "BYE sip:b SIP/2.0\r\nCall-IDs: abc\r\n\r\n",
	    "BYE sip:b SIP/2.0\r\n Call-ID: abc\r\n\r\n",
	    "BYE sip:b SIP/2.0\r\nCall-ID abc\r\n\r\n",
	    "BYE sip:b SIP/2.0\r\nCall-ID:\r\n\r\n",
	    "BYE sip:b SIP/2.0\r\ni: \t \r\n\r\n",
	    "BYE sip:b SIP/2.0\r\nVia: x\r\n\r\nCall-ID: in-the-body\r\n",
	    "0123456789abcdef", /* exactly STEER_MIN_PAYLOAD bytes */
	};
	static char big[DGRAM_MAX];
	struct group g;
	size_t i, n;

	(void)state;
	group_open(&g, 2);
	for (i = 0; i < sizeof(no_callid) / sizeof(no_callid[0]); i++)
		expect_reason(&g, no_callid[i], strlen(no_callid[i]), STEER_CNT_NO_CALLID);
	/* no payload: a reason of its own (the daemon's sockets then drop it) */
	expect_reason(&g, "Call-ID: abcdefgh", 0, STEER_CNT_EMPTY);
	for (n = 1; n < STEER_MIN_PAYLOAD; n += 5)
		expect_reason(&g, "Call-ID: abcdefgh", n, STEER_CNT_TOO_SHORT);
	/* Call-ID only after the scan window */
	n = build_request(big, sizeof(big), "Call-ID: late@127.0.0.1", 80, "\r\n", NULL);
	assert_true(n > STEER_SCAN_MAX + 100);
	assert_null(memmem(big, STEER_SCAN_MAX, "Call-ID", 7));
	expect_reason(&g, big, n, STEER_CNT_NO_CALLID);
	group_close(&g);
}

static unsigned worker_of(struct group *g, const char *cid)
{
	static char buf[DGRAM_MAX];
	char line[256];
	size_t len;

	snprintf(line, sizeof(line), "Call-ID: %s", cid);
	len = build_request(buf, sizeof(buf), line, 3, "\r\n", NULL);
	return (unsigned)send_and_find(g, buf, len);
}

static void test_kernel_set_bucket(void **state)
{
	const char *cid = "a84b4c76e66710@pc33.atlanta.example.com";
	unsigned bucket = shard_bucket_of(hash_str(cid)), w, target;
	uint32_t table[SHARD_NBUCKETS];
	struct group g;
	unsigned i;

	(void)state;
	group_open(&g, 4);
	assert_int_equal(steer_get_buckets(g.s, table), 0);
	for (i = 0; i < SHARD_NBUCKETS; i++)
		assert_int_equal(table[i], i % 4);
	w = worker_of(&g, cid);
	assert_int_equal(w, bucket % 4);
	for (i = 1; i < 4; i++) {
		target = (w + i) % 4;
		assert_int_equal(steer_set_bucket(g.s, bucket, target), 0);
		assert_int_equal(worker_of(&g, cid), target);
		assert_int_equal(steer_get_buckets(g.s, table), 0);
		assert_int_equal(table[bucket], target);
	}
	/* other buckets did not move */
	for (i = 0; i < SHARD_NBUCKETS; i++)
		if (i != bucket)
			assert_int_equal(table[i], i % 4);
	assert_int_equal(steer_set_bucket(g.s, SHARD_NBUCKETS, 0), -EINVAL);
	assert_true(strstr(steer_error(g.s), "bucket") != NULL);
	assert_int_equal(steer_set_bucket(g.s, 0, 4), -EINVAL);
	assert_true(strstr(steer_error(g.s), "worker") != NULL);
	assert_int_equal(steer_set_bucket(g.s, bucket, w), 0);
	assert_int_equal(worker_of(&g, cid), w);
	group_close(&g);
}

/* A worker socket that closes leaves an empty slot: its calls are counted as
 * select_failed and still delivered (kernel default choice). */
static void test_kernel_closed_worker(void **state)
{
	struct steer_counters before, after;
	char cid[64];
	struct group g;
	int got;
	unsigned i, dead = 3, n_dead = 0;

	(void)state;
	group_open(&g, 4);
	close(g.fds[dead]);
	g.fds[dead] = -1;
	read_counters(&g, &before);
	for (i = 0; i < 40; i++) {
		snprintf(cid, sizeof(cid), "closed-worker-%u@127.0.0.1", i);
		got = worker_of(&g, cid);
		assert_int_not_equal(got, (int)dead);
		if (g.table[shard_bucket_of(hash_str(cid))] == dead)
			n_dead++;
		else
			assert_int_equal(got, (int)g.table[shard_bucket_of(hash_str(cid))]);
	}
	assert_true(n_dead > 0);
	read_counters(&g, &after);
	assert_int_equal(
	    after.reason[STEER_CNT_SELECT_FAILED] - before.reason[STEER_CNT_SELECT_FAILED], n_dead);
	assert_int_equal(after.reason[STEER_CNT_STEERED] - before.reason[STEER_CNT_STEERED],
			 40 - n_dead);
	assert_int_equal(after.worker[dead], before.worker[dead]);
	group_close(&g);
}

/* Random hostile header sections: BPF and the userspace scanner must reach
 * the same verdict and the same hash on every one. */
static const char *const names[] = {"Call-ID",	   "call-id", "CALL-ID",  "cAlL-iD",  "i",
				    "I",	   "Call-I",  "Call-IDs", " Call-ID", "X-Call-ID",
				    "In-Reply-To", "Call_ID", "Via",	  "Call\rID", ""};
static const char *const seps[] = {":", " :", "\t:", ": ", ":\t", " \t :  ", "", " "};
static const char *const eols[] = {"\r\n", "\n", "\r", "\r\n\r\n", "\n\n"};

static size_t random_datagram(char *buf, size_t cap)
{
	size_t n = 0, want_pad;
	unsigned lines = rnd(8), i;
	char val[SHARD_CALLID_MAX + 40];

	n += (size_t)snprintf(buf, cap, "INVITE sip:b@127.0.0.1 SIP/2.0%s", eols[rnd(3)]);
	/* sometimes push the interesting part towards the window edge */
	want_pad = rnd(3) == 0 ? STEER_SCAN_MAX - 200 + rnd(300) : rnd(200);
	while (n + 80 < cap && n < want_pad) {
		int w = snprintf(buf + n, cap - n, "X-Pad: %.*s\r\n", (int)(10 + rnd(50)),
				 "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp");
		n += (size_t)w;
	}
	for (i = 0; i < lines && n + 300 < cap; i++) {
		if (rnd(4) != 0)
			random_callid(val, 4 + rnd(2) * (SHARD_CALLID_MAX + 30));
		else
			val[0] = '\0';
		n += (size_t)snprintf(buf + n, cap - n, "%s%s%s%s%s",
				      names[rnd(sizeof(names) / sizeof(names[0]))],
				      seps[rnd(sizeof(seps) / sizeof(seps[0]))], rnd(3) ? "" : " ",
				      val, eols[rnd(sizeof(eols) / sizeof(eols[0]))]);
	}
	if (rnd(4) == 0 && n > 3) /* cut anywhere */
		n = rnd((unsigned)n);
	return n;
}

/* Runs the program on n datagrams from gen and checks that it reaches the
 * verdict and the hash of the userspace scanner on each, and the socket the
 * bucket table names. */
static void expect_agreement(struct group *g, size_t (*gen)(char *, size_t), unsigned n)
{
	static char buf[DGRAM_MAX];
	struct steer_last prev, last;
	unsigned i, found_n = 0, none_n = 0;
	uint32_t h;
	size_t len;
	int found, got;

	read_last(g, &prev);
	for (i = 0; i < n; i++) {
		len = gen(buf, sizeof(buf));
		found = steer_callid_hash(buf, len, &h);
		got = send_and_find(g, buf, len);
		read_last(g, &last);
		assert_true(last.ns > prev.ns); /* the program ran for this one */
		prev = last;
		if (found) {
			found_n++;
			if (last.reason != STEER_CNT_STEERED || last.hash != h)
				fail_msg("datagram %u (%zu bytes): userspace hash %08x, kernel "
					 "reason %u hash %08x",
					 i, len, h, last.reason, last.hash);
			assert_int_equal(got, (int)g->table[shard_bucket_of(h)]);
		} else {
			none_n++;
			if (last.reason != (len == 0		      ? STEER_CNT_EMPTY
					    : len < STEER_MIN_PAYLOAD ? STEER_CNT_TOO_SHORT
								      : STEER_CNT_NO_CALLID))
				fail_msg("datagram %u (%zu bytes): userspace found no Call-ID, "
					 "kernel reason %u hash %08x",
					 i, len, last.reason, last.hash);
		}
	}
	/* the generator must exercise both verdicts */
	print_message("steer: agreement on %u found, %u without Call-ID\n", found_n, none_n);
	assert_true(found_n > n / 20);
	assert_true(none_n > n / 20);
}

static void test_kernel_agrees_with_userspace(void **state)
{
	struct group g;

	(void)state;
	group_open(&g, 4);
	expect_agreement(&g, random_datagram, 400);
	group_close(&g);
}

/* A Call-ID header line as a hostile sender may write it: any name of the
 * scanner's neighbourhood, odd spacing, a value of any bytes (NUL, CR alone,
 * bytes above 0x7f), folded onto the next line, or of SHARD_CALLID_MAX bytes
 * and more. */
static size_t hostile_line(char *buf, size_t cap)
{
	static const char *const fold[] = {"", "", "", "\r\n ", "\r\n\t", "\n "};
	static const char *const ends[] = {"\r\n", "\r\n", "\n", "\r"};
	size_t n = 0, vlen, i;
	int w;

	w = snprintf(buf, cap, "%s%s%s%s", names[rnd(sizeof(names) / sizeof(names[0]))],
		     seps[rnd(sizeof(seps) / sizeof(seps[0]))],
		     fold[rnd(sizeof(fold) / sizeof(fold[0]))], rnd(3) ? "" : " \t");
	n = (size_t)w;
	vlen = rnd(4) ? rnd(24) : SHARD_CALLID_MAX - 2 + rnd(6);
	for (i = 0; i < vlen && n + 8 < cap; i++) {
		unsigned r = rnd(16);
		buf[n++] = r == 0 ? (char)rnd(256) : r == 1 ? '\0' : (char)('a' + rnd(26));
	}
	/* CRLF, a bare LF, or a CR alone (which ends no line) */
	const char *end = ends[rnd(sizeof(ends) / sizeof(ends[0]))];
	memcpy(buf + n, end, strlen(end));
	return n + strlen(end);
}

/* Datagrams of hostile bytes: CR and LF before the start line, a start line of
 * any bytes, filler headers, Call-ID lines of hostile_line, a body that holds
 * one, sometimes padded so that the line falls on the edge of the window, and
 * sometimes cut anywhere. */
static size_t hostile_datagram(char *buf, size_t cap)
{
	size_t n = 0, pad, i;
	unsigned lines = rnd(6);

	for (i = rnd(4) == 0 ? rnd(4) : 0; i > 0; i--)
		buf[n++] = rnd(2) ? '\r' : '\n';
	if (rnd(8) == 0) {
		for (i = rnd(40); i > 0; i--)
			buf[n++] = (char)rnd(256);
		buf[n++] = '\n';
	} else {
		n += (size_t)snprintf(buf + n, cap - n, "%s",
				      rnd(2) ? "INVITE sip:b@h SIP/2.0\r\n" : "SIP/2.0 200 OK\r\n");
	}
	pad = rnd(3) == 0 ? STEER_SCAN_MAX - 180 + rnd(240) : rnd(100);
	while (n + 80 < cap && n < pad)
		n += (size_t)snprintf(buf + n, cap - n, "%s\r\n", fillers[rnd(NFILLERS)]);
	for (i = 0; i < lines && n + 400 < cap; i++)
		n += hostile_line(buf + n, cap - n - 1);
	if (rnd(3) == 0 && n + 200 < cap)
		n += (size_t)snprintf(buf + n, cap - n, "\r\ni: in-the-body\r\n");
	if (rnd(4) == 0 && n > 3)
		n = rnd((unsigned)n);
	return n;
}

/* Asserts that the scanner with its shortcuts (steer_callid_hash) reaches the
 * verdict and hash of its rule fed byte by byte (steer_ref_callid_hash). */
static void expect_same_as_bytewise(const char *buf, size_t len)
{
	uint32_t h = 0, ref_h = 0;
	int ref = steer_ref_callid_hash(buf, len, &ref_h);
	int got = steer_callid_hash(buf, len, &h);

	if (got != ref || (ref && h != ref_h))
		fail_msg("%zu bytes: shortcuts say %d (%08x), byte by byte %d (%08x): %.*s", len,
			 got, h, ref, ref_h, (int)(len < 200 ? len : 200), buf);
}

/* The shortcuts (a '\n' found eight bytes at a time, lines whose first byte
 * does not matter passed over, "Call-ID:" taken whole, the value hashed in
 * a run) change nothing the scanner says: on every cut of messages whose
 * lines fall at each place in a word, with each byte replaced in turn by
 * each byte the rule treats apart, and on the hostile datagrams. */
static void test_scanner_shortcuts_match_bytewise(void **state)
{
	static const char *const forms[] = {
	    "BYE sip:b SIP/2.0\r\nVia: %.*s\r\nCSeq: 1 BYE\r\nCall-ID: abc@h\r\n\r\n",
	    "BYE sip:b SIP/2.0\r\nVia: %.*s\r\ncall-id:abc@h\r\n\r\n",
	    "BYE sip:b SIP/2.0\nVia: %.*s\ni:\tabc\nContact: c\n\n",
	    "SIP/2.0 200 OK\r\nVia: %.*s\r\nCALL-ID \t: x y\r\nCall-ID: z\r\n\r\n",
	};
	static const char special[] = {'\n', '\r',	 ' ',	     '\t',	':', 'C',
				       'c',  'I',	 'i',	     '-',	'a', 'D',
				       '\0', (char)0x80, (char)0xe3, (char)0xff};
	static char buf[DGRAM_MAX];
	unsigned checked = 0;

	(void)state;
	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++)
		for (int pad = 0; pad < 16; pad++) {
			int len = snprintf(buf, sizeof(buf), forms[f], pad, "xxxxxxxxxxxxxxxx");
			for (int cut = 0; cut <= len; cut++, checked++)
				expect_same_as_bytewise(buf, (size_t)cut);
			for (int at = 0; at < len; at++) {
				char keep = buf[at];
				for (size_t c = 0; c < sizeof(special); c++, checked++) {
					buf[at] = special[c];
					expect_same_as_bytewise(buf, (size_t)len);
				}
				buf[at] = keep;
			}
		}
	for (unsigned i = 0; i < 20000; i++, checked++) {
		size_t len =
		    i % 2 ? hostile_datagram(buf, sizeof(buf)) : random_datagram(buf, sizeof(buf));
		expect_same_as_bytewise(buf, len);
	}
	print_message("steer: %u datagrams scanned both ways\n", checked);
}

/* Hostile bytes, over IPv4, over IPv6 and from IPv4 to a dual-stack group:
 * the program and the userspace scanner (the daemon's handoff without BPF)
 * place every datagram alike. */
static void test_kernel_agrees_on_hostile_bytes(void **state)
{
	struct group g;

	(void)state;
	group_open(&g, 4);
	expect_agreement(&g, hostile_datagram, 600);
	group_close(&g);
	group_open_af(&g, 4, AF_INET6);
	expect_agreement(&g, hostile_datagram, 600);
	expect_agreement(&g, random_datagram, 200);
	group_close(&g);
	group_open_af(&g, 4, AF_UNSPEC);
	expect_agreement(&g, hostile_datagram, 300);
	group_close(&g);
}

/* After detaching, the program no longer runs for the group. */
static void test_kernel_detach(void **state)
{
	struct steer_last a, b;
	struct group g;

	(void)state;
	group_open(&g, 2);
	worker_of(&g, "detach-1@127.0.0.1");
	read_last(&g, &a);
	assert_true(a.ns != 0);
	assert_int_equal(steer_detach(g.s), 0);
	worker_of(&g, "detach-2@127.0.0.1");
	read_last(&g, &b);
	assert_true(a.ns == b.ns);
	assert_int_equal(steer_detach(g.s), -ENOENT);
	group_close(&g);
}

static void test_attach_errors(void **state)
{
	struct steer_ctx *s = open_or_skip();
	int fds[2] = {-1, -1};
	int plain;

	(void)state;
	assert_int_equal(steer_attach(s, fds, 0), -EINVAL);
	assert_int_equal(steer_attach(s, fds, SHARD_MAX_WORKERS + 1), -EINVAL);
	assert_int_equal(steer_attach(s, fds, 1), -EBADF);
	assert_true(strstr(steer_error(s), "worker 0") != NULL);
	/* a socket that is not in a reuseport group cannot be a worker */
	plain = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(plain >= 0);
	fds[0] = plain;
	assert_true(steer_attach(s, fds, 1) < 0);
	assert_true(strstr(steer_error(s), "SO_REUSEPORT") != NULL);
	close(plain);
	steer_close(s);
}

/* With CAP_BPF but neither CAP_PERFMON nor CAP_SYS_ADMIN (a unit that grants
 * CAP_BPF alone), the kernel's verifier walks the program's speculative paths
 * for about 12 s of kernel time and gives up (E2BIG): steer_open must say so
 * at once instead, or the daemon's start (and so a restart with calls up)
 * waits that long before it listens. The child drops both capabilities from
 * its effective set and times steer_open. */
static void test_open_without_perfmon_is_quick(void **state)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	int status;

	(void)state;
	assert_int_equal(syscall(SYS_capget, &hdr, data), 0);
	if (!(data[CAP_BPF / 32].effective & (1u << (CAP_BPF % 32))) &&
	    !(data[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32)))) {
		print_message("SKIP: no CAP_BPF here\n");
		skip();
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct steer_ctx *s = NULL;
		struct timespec a, b;
		char err[256];

		data[CAP_PERFMON / 32].effective &= ~(1u << (CAP_PERFMON % 32));
		data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
		data[CAP_BPF / 32].effective |= 1u << (CAP_BPF % 32);
		if (syscall(SYS_capset, &hdr, data) != 0)
			_exit(3);
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rc = steer_open(&s, err, sizeof(err));
		clock_gettime(CLOCK_MONOTONIC, &b);
		long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		fprintf(stderr, "steer_open without CAP_PERFMON: %d after %ld ms (%s)\n", rc, ms,
			err);
		/* booted with mitigations=off the verifier skips the speculative
		 * paths: the load is tried and may be taken, quickly too */
		char cmdline[4096] = "";
		FILE *f = fopen("/proc/cmdline", "r");
		if (f) {
			if (!fgets(cmdline, sizeof(cmdline), f))
				cmdline[0] = '\0';
			fclose(f);
		}
		bool tried = strstr(cmdline, "mitigations=off") != NULL;
		if (rc == 0)
			steer_close(s);
		_exit(ms < 1000 && (tried || (rc < 0 && strstr(err, "CAP_PERFMON"))) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scanner_rules),
	    cmocka_unit_test(test_scanner_window),
	    cmocka_unit_test(test_scanner_shortcuts_match_bytewise),
	    cmocka_unit_test(test_kernel_2_workers),
	    cmocka_unit_test(test_kernel_4_workers),
	    cmocka_unit_test(test_callid_for_bucket),
	    cmocka_unit_test(test_kernel_hash_matches),
	    cmocka_unit_test(test_kernel_run_time),
	    cmocka_unit_test(test_kernel_steers_made_callids),
	    cmocka_unit_test(test_kernel_reasons),
	    cmocka_unit_test(test_kernel_set_bucket),
	    cmocka_unit_test(test_kernel_closed_worker),
	    cmocka_unit_test(test_kernel_agrees_with_userspace),
	    cmocka_unit_test(test_kernel_agrees_on_hostile_bytes),
	    cmocka_unit_test(test_kernel_detach),
	    cmocka_unit_test(test_attach_errors),
	    cmocka_unit_test(test_open_without_perfmon_is_quick),
	};

	seed_rng();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
