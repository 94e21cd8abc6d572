/*
 * detached.h - requests the controller sends outside any call's set-up
 * record, each a non-INVITE client transaction of its own (RFC 3261 17.1.2):
 * the CANCEL of a target a call failed over from that rings after all, the
 * BYE that ends a 2xx nobody will use (a second fork's, a left target's),
 * and the PRACK of a reliable provisional of a fork refused an early dialog
 * of its own (controller.c).
 *
 * Owns: a bounded table of such transactions, their retransmission (Timer E,
 * T1 doubling to T2; T2 once a provisional came) until a final response with
 * their branch and CSeq method, or Timer F (64*T1), the Completed state after
 * the final (Timer K, T4 over UDP, RFC 3261 17.1.2.2: copies of the final are
 * absorbed, and what the request answered is known to have been answered),
 * and their counters. Does
 * not own: building the requests, the socket (the caller's send hook), the
 * call records (a transaction here outlives its call).
 *
 * Not kept across a restart: a request in flight then is not sent again,
 * which its peer's own timers cover (a ringing callee gives up, a BYE's
 * callee ends the call at its session timer). A full table gives a new
 * request the place of the Completed transaction nearest its Timer K, and
 * with none sends it once, untracked and counted, rather than push out one
 * in flight.
 */
#ifndef SIPSHARD_DETACHED_H
#define SIPSHARD_DETACHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sipshard/sip.h"

#define DETACHED_MAX	     64
#define DETACHED_REQUEST_MAX 4096
#define DETACHED_BRANCH_MAX  64
/* Timer K over UDP: T4, RFC 3261's 5 s (17.1.2.2, table 4) */
#define DETACHED_T4_MS 5000

/* unsigned: the shard whose socket sends it */
typedef void (*detached_send_fn)(void *arg, unsigned shard, const char *buf, size_t len,
				 const struct sockaddr_storage *to, socklen_t tolen);

struct detached_txn {
	bool live;
	bool completed;	   /* its final came: kept until Timer K (t_deadline) */
	uint8_t method_id; /* enum sip_method of the request, matched in CSeq */
	uint8_t shard;
	uint8_t branch_len;
	char branch[DETACHED_BRANCH_MAX];
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint64_t t_next, t_interval, t_deadline;
	uint16_t len;
	char request[DETACHED_REQUEST_MAX];
};

struct detached_stats {
	uint64_t started;	/* requests tracked */
	uint64_t retransmitted; /* their retransmissions */
	uint64_t answered;	/* ended by a final response */
	uint64_t unanswered;	/* ended by Timer F */
	uint64_t untracked;	/* sent once: the table was full */
	uint64_t absorbed;	/* responses to a Completed one (copies of its final) */
};

struct detached_set {
	struct detached_txn t[DETACHED_MAX];
	unsigned live;
	uint32_t t1_ms, t2_ms;
	uint64_t due; /* detached_tick has nothing to do before; UINT64_MAX: never */
	struct detached_stats st;
};

void detached_init(struct detached_set *s, uint32_t t1_ms, uint32_t t2_ms);

/* Sends the len bytes of request (whose top Via branch and CSeq method are
 * given) to `to` and keeps it for retransmission. A request too large to keep
 * (which takes no Completed transaction's place), or arriving at a table
 * full of requests in flight, is sent once and counted untracked. */
void detached_send(struct detached_set *s, const char *request, size_t len, const char *branch,
		   size_t branch_len, enum sip_method method_id, unsigned shard,
		   const struct sockaddr_storage *to, socklen_t tolen, uint64_t now,
		   detached_send_fn send, void *arg);

/* Whether response r answers a transaction of the table (its top branch
 * and CSeq method): a final completes it (no more retransmissions; Timer K
 * starts), a provisional slows its retransmissions to T2, and either is
 * absorbed once it completed. False: not one of ours. */
bool detached_on_response(struct detached_set *s, const struct sip_msg *r, uint64_t now);

/* Whether a request with this branch and method is in the table: in
 * progress, or answered no longer ago than Timer K. */
bool detached_pending(struct detached_set *s, const char *branch, size_t branch_len,
		      enum sip_method method_id);

/* Retransmits what is due at now and ends what reached Timer F (counted
 * unanswered) or Timer K. */
void detached_tick(struct detached_set *s, uint64_t now, detached_send_fn send, void *arg);

#endif
