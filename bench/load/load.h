/*
 * load.h - what the parts of sipshard-load share: the run's configuration,
 * the worker entry points of each role, the clock, and timer lists.
 *
 * Owns: struct load_cfg (filled by main.c from the command line, read-only
 * afterwards), struct load_worker (one per thread: its index, its stats, the
 * stop flag it watches), and the FIFO timer lists the uac and uas use for
 * retransmissions and timeouts. Does not own: parsing the command line
 * (main.c), SIP (msg.c), the roles (uac.c, uas.c, lossy_proxy.c).
 */
#ifndef SIPSHARD_LOAD_H
#define SIPSHARD_LOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "core/rng.h"
#include "stats.h"

#define LOAD_MAX_THREADS 64
#define LOAD_MAX_SOURCES 64
#define LOAD_MAX_MIX	 LM_COUNT
/* Receive and send buffers of each socket's net_io. */
#define LOAD_RX_BUFS	 1024
#define LOAD_RX_BUF_SIZE 8192
#define LOAD_TX_BUFS	 4096
#define LOAD_TX_SIZE	 2048

enum load_role { LOAD_ROLE_UAC = 1, LOAD_ROLE_UAS, LOAD_ROLE_PROXY };

struct load_mix_entry {
	uint8_t method; /* enum load_method */
	uint32_t weight;
};

struct load_cfg {
	enum load_role role;
	struct sockaddr_storage local, target;
	socklen_t local_len, target_len;
	char local_s[64], target_s[64];
	unsigned threads, sources;
	uint64_t calls;
	double rate, duration, req_rate;
	unsigned window;
	unsigned requests_per_call; /* uac: BYE and a new call after K in-dialog requests */
	struct load_mix_entry mix[LOAD_MAX_MIX];
	unsigned nmix;
	char mix_s[256];
	unsigned answer_delay_ms;
	double reject_share;
	const char *json_path;
	uint64_t max_errors;
	bool no_uring, echo, quiet;
	unsigned t1_ms, t2_ms;
	uint64_t max_calls; /* uas: dialog table capacity over all threads */
	unsigned pending;   /* uas: stored responses awaiting ACK, per thread */
	unsigned drop_every, drop_responses_every; /* drop-proxy */
	char to_user[64], from_user[64];
	uint64_t seed;
	uint32_t nonce; /* makes Call-IDs unique per run */
};

/* One worker thread. main.c owns the array; the worker writes only `stats`
 * (and `backend`, `done`, `mix_seconds`, `setup_*_ns`). `fd` passes to
 * the worker, which closes it. */
struct load_worker {
	unsigned index;
	const struct load_cfg *cfg;
	const atomic_int *stop; /* 1: wind down (BYE everything), 2: quit now */
	struct load_stats *stats;
	int fd;		     /* a uas of several threads: its socket, bound by main.c; else -1 */
	const char *backend; /* "io_uring" or "recvmmsg", set by the worker */
	double mix_seconds;  /* uac: length of its mix window; uas: its run time */
	uint64_t setup_first_ns, setup_last_ns; /* uac: its first and last set-up INVITE sent */
	int rc;					/* 0, or a negative errno from setup */
	char err[160];
	_Atomic int ready; /* sockets bound: 1; setup failed: -1 */
	uint64_t io_rx, io_tx, io_tx_errors, io_tx_enobufs, io_tx_reordered, io_truncated,
	    io_enobufs, io_pool_empty;
};

void *load_uac_main(void *worker);
void *load_uas_main(void *worker);
void *load_proxy_main(void *worker);

static inline uint64_t load_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A worker's own deterministic random numbers (seeded from --seed). */
static inline uint64_t load_rand(uint64_t *s)
{
	return rng_next(s);
}

/* ---- timer lists --------------------------------------------------------------
 * A timer list holds nodes that all wait the same interval, appended in the
 * order they were armed; since the clock only moves forward, the head is the
 * next to fire. Each list is a doubly linked list over indices into the
 * caller's node array, so arming, cancelling and firing are O(1) and nothing
 * allocates. A node is on at most one list (`list` < 0: on none). */
#define TL_NIL UINT32_MAX

struct tl_node {
	uint64_t due;
	uint32_t prev, next;
	int8_t list;
};

struct tl_list {
	uint32_t head, tail;
	uint64_t ival_ns;
};

static inline void tl_init_nodes(struct tl_node *n, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		n[i].list = -1;
		n[i].prev = n[i].next = TL_NIL;
	}
}

static inline void tl_init_list(struct tl_list *l, uint64_t ival_ns)
{
	l->head = l->tail = TL_NIL;
	l->ival_ns = ival_ns;
}

static inline void tl_cancel(struct tl_list *lists, struct tl_node *nodes, uint32_t id)
{
	struct tl_node *n = &nodes[id];
	if (n->list < 0)
		return;
	struct tl_list *l = &lists[n->list];
	if (n->prev != TL_NIL)
		nodes[n->prev].next = n->next;
	else
		l->head = n->next;
	if (n->next != TL_NIL)
		nodes[n->next].prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = TL_NIL;
	n->list = -1;
}

/* Arms node id on list li to fire at now + the list's interval. */
static inline void tl_arm(struct tl_list *lists, struct tl_node *nodes, int li, uint32_t id,
			  uint64_t now)
{
	tl_cancel(lists, nodes, id);
	struct tl_list *l = &lists[li];
	struct tl_node *n = &nodes[id];
	n->due = now + l->ival_ns;
	n->list = (int8_t)li;
	n->next = TL_NIL;
	n->prev = l->tail;
	if (l->tail != TL_NIL)
		nodes[l->tail].next = id;
	else
		l->head = id;
	l->tail = id;
}

/* The head of list li when it is due at now, else TL_NIL. */
static inline uint32_t tl_due(const struct tl_list *lists, const struct tl_node *nodes, int li,
			      uint64_t now)
{
	uint32_t h = lists[li].head;
	return h != TL_NIL && nodes[h].due <= now ? h : TL_NIL;
}

/* The earliest due time over nlists lists, or UINT64_MAX. */
static inline uint64_t tl_next(const struct tl_list *lists, const struct tl_node *nodes, int nlists)
{
	uint64_t t = UINT64_MAX;
	for (int i = 0; i < nlists; i++)
		if (lists[i].head != TL_NIL && nodes[lists[i].head].due < t)
			t = nodes[lists[i].head].due;
	return t;
}

/* ---- small text helpers for the fixed-format tokens we generate ------------- */

/* Writes v as exactly `digits` lower-case hex digits. */
static inline void load_put_hex(char *out, uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = digits - 1; i >= 0; i--) {
		out[i] = hex[v & 15];
		v >>= 4;
	}
}

/* Parses exactly `digits` lower-case hex digits; false on anything else. */
static inline bool load_get_hex(const char *s, int digits, uint64_t *v)
{
	uint64_t x = 0;
	for (int i = 0; i < digits; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			x = x << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x = x << 4 | (uint64_t)(c - 'a' + 10);
		else
			return false;
	}
	*v = x;
	return true;
}

#endif
