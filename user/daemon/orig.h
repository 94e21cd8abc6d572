/*
 * orig.h - in-dialog requests that sipshard itself sends on a leg: the session
 * model's bye() when policy or the operator ends a call (timers.dialog_max_s,
 * timers.dialog_idle_s, sipshardctl bye), and info() and message() from the
 * operator (sipshardctl info, message).
 *
 * Owns: one worker's client transactions for them (RFC 3261 17.1.2, non-INVITE
 * over UDP): the datagram kept for retransmission, Timer E (500 ms doubling to
 * 4 s; 4 s once a provisional response came: timers.t1_ms and t2_ms), Timer F
 * (64*T1, then given up), and matching a response to its request by the branch
 * of our Via (a shard token: shard_orig_encode) and the method. Does not own: writing the request
 * (relay_write_request), sockets (the caller sends), the dialog (after a BYE the caller frees it at
 * once: the call is over on sipshard's side whatever the answers say).
 *
 * Not the in-dialog keep-alive's OPTIONS (worker.c): one per side and round
 * for every quiet call, they would crowd these slots out, so their state is a
 * byte in each leg of the dialog record (shard/table.h) and they are never
 * retransmitted (the next round is).
 *
 * Bounded: ORIG_SLOTS transactions per worker. When every slot is busy, the
 * oldest transaction gives its slot up (counted as overwritten): its request
 * was sent at least once and stops being retransmitted. No allocation, no
 * locks; the worker that owns the table is its only user.
 */
#ifndef SIPSHARD_ORIG_H
#define SIPSHARD_ORIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/relay.h"
#include "shard/table.h"
#include "sipshard/sip.h"

#define ORIG_SLOTS    512
#define ORIG_MAX      2048 /* a request of ours without a body fits */
#define ORIG_BODY_MAX 1024 /* body of an info or message from the operator */
/* Kept for retransmission: whatever the worker writes (its scratch is this
 * size), so that an operator's MESSAGE with a full body on a call with a long
 * route set is retransmitted too; a request that does not fit (a caller with
 * a larger scratch) is sent once, not kept. */
#define ORIG_KEEP_MAX (ORIG_MAX + ORIG_BODY_MAX)

struct orig_txn {
	uint32_t gen;	 /* changes with every use of the slot */
	uint32_t salt;	 /* random, in the branch: a forged answer must guess it */
	bool busy;	 /* waiting for a final response */
	bool proceeding; /* a provisional response came: retransmit every T2 */
	uint8_t method;	 /* enum sip_method: a response must be for it */
	uint64_t cookie; /* the caller's, given back with the outcome */
	uint16_t len;	 /* bytes in data; 0 when the request did not fit */
	uint32_t interval_ms;
	uint64_t next_ms;     /* next retransmission */
	uint64_t deadline_ms; /* Timer F */
	struct sockaddr_in6 peer;
	socklen_t peer_len;
	char data[ORIG_KEEP_MAX];
};

struct orig_stats {
	uint64_t sent;		/* requests sent (first transmissions) */
	uint64_t retransmitted; /* retransmissions */
	uint64_t answered;	/* final responses that ended a transaction */
	uint64_t unanswered;	/* transactions given up after Timer F */
	uint64_t overwritten;	/* transactions that gave their slot up while busy */
	uint64_t stray;		/* responses with our prefix that match no busy transaction */
};

struct orig_table {
	uint32_t next;	   /* where the search for a free slot starts */
	uint32_t busy;	   /* transactions waiting for a final response */
	uint32_t gen_seed; /* generations start from a random value */
	uint32_t t1_ms, t2_ms;
	uint8_t shard; /* written into every branch, checked back */
	struct orig_stats st;
	struct orig_txn out[ORIG_SLOTS];
};

/* Sends the datagram at buf (len bytes) to dst. */
typedef void (*orig_send_fn)(void *arg, const char *buf, size_t len, const struct sockaddr *dst,
			     socklen_t dst_len);
/* A transaction ended: its final status, or 408 when Timer F gave it up (RFC
 * 3261 8.1.3.1) or when it gave its slot up to a newer request (it then
 * stops waiting as at Timer F, only sooner); cookie is what orig_start was
 * given. */
typedef void (*orig_done_fn)(void *arg, uint64_t cookie, uint8_t method, int status);

/* An empty table for shard's worker: seed (random) starts the generations and
 * salts; t1_ms and t2_ms are timers.t1_ms and t2_ms. */
void orig_init(struct orig_table *t, uint8_t shard, uint64_t seed, uint32_t t1_ms, uint32_t t2_ms);

/* Sends req on leg s of a dialog: writes it (relay_write_request) into scratch
 * (cap bytes), keeps it in a transaction slot with cookie and sends it
 * through send; the oldest transaction, when it must give its slot up, ends
 * through done (408). Returns 0, or -ENOSPC when it does not fit cap bytes
 * (the leg's strings or the body are too long), in which case nothing is
 * sent. */
int orig_start(struct orig_table *t, struct relay_ctx *rc, struct sip_session *s,
	       const struct relay_req *req, uint64_t cookie, uint64_t now_ms, char *scratch,
	       size_t cap, orig_send_fn send, orig_done_fn done, void *arg);

/* True when a response's top Via branch is one of our requests'. */
bool orig_branch_is_ours(const char *buf, sip_view branch);

/* A response whose branch orig_branch_is_ours: a final one ends its
 * transaction, a provisional one slows its retransmissions to T2. A response
 * that matches no busy transaction is counted as stray. done (may be NULL)
 * hears of a transaction that ended. */
void orig_on_response(struct orig_table *t, const struct sip_msg *m, orig_done_fn done, void *arg);

/* Retransmits what is due and gives up what Timer F ended (telling done, which
 * may be NULL); cheap when no request is outstanding. */
void orig_tick(struct orig_table *t, uint64_t now_ms, orig_send_fn send, orig_done_fn done,
	       void *arg);

#endif
