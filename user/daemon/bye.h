/*
 * bye.h - BYEs that sipshard itself sends: the client transactions behind a
 * session's bye() when policy ends a call (timers.dialog_max_s,
 * timers.dialog_idle_s).
 *
 * Owns: one worker's outgoing BYE transactions (RFC 3261 17.1.2, over UDP): the
 * datagram kept for retransmission, Timer E (500 ms doubling to 4 s; 4 s once a
 * provisional response came), Timer F (32 s, then given up), and matching a
 * response to its BYE by the branch of our Via. Does not own: writing the BYE
 * (relay_write_bye), sockets (the caller sends), the dialog (freed by the
 * caller as the BYEs go out: the call is over on sipshard's side whatever the
 * answers say).
 *
 * Bounded: BYE_OUT_SLOTS transactions per worker. When every slot is busy, the
 * oldest transaction gives its slot up (counted as overwritten): its BYE was
 * sent at least once and stops being retransmitted. No allocation, no locks;
 * the worker that owns the table is its only user.
 */
#ifndef SIPSHARD_BYE_H
#define SIPSHARD_BYE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/relay.h"
#include "sipshard/sip.h"

#define BYE_OUT_SLOTS	  512
#define BYE_OUT_MAX	  2048 /* a BYE that does not fit is sent once, not kept */
#define BYE_BRANCH_PREFIX "z9hG4bKsb"
/* prefix, then index (4 hex digits) and generation (8) */
#define BYE_BRANCH_MAX (sizeof(BYE_BRANCH_PREFIX) - 1 + 12 + 1)

#define BYE_T1_MS      500u
#define BYE_T2_MS      4000u
#define BYE_TIMER_F_MS (64u * BYE_T1_MS)

struct bye_out {
	uint32_t gen;	 /* changes with every use of the slot */
	bool busy;	 /* waiting for a final response */
	bool proceeding; /* a provisional response came: retransmit every T2 */
	uint16_t len;	 /* bytes in data; 0 when the BYE did not fit */
	uint32_t interval_ms;
	uint64_t next_ms;     /* next retransmission */
	uint64_t deadline_ms; /* Timer F */
	struct sockaddr_in6 peer;
	socklen_t peer_len;
	char data[BYE_OUT_MAX];
};

struct bye_stats {
	uint64_t sent;		/* BYEs sent (first transmissions) */
	uint64_t retransmitted; /* retransmissions */
	uint64_t answered;	/* final responses that ended a transaction */
	uint64_t unanswered;	/* transactions given up after Timer F */
	uint64_t overwritten;	/* transactions that gave their slot up while busy */
	uint64_t stray;		/* responses with our prefix that match no busy transaction */
};

struct bye_table {
	uint32_t next;	   /* the slot the next BYE takes (oldest first) */
	uint32_t busy;	   /* transactions waiting for a final response */
	uint32_t gen_seed; /* generations start from a random value */
	struct bye_stats st;
	struct bye_out out[BYE_OUT_SLOTS];
};

/* Sends the datagram at buf (len bytes) to dst. */
typedef void (*bye_send_fn)(void *arg, const char *buf, size_t len, const struct sockaddr *dst,
			    socklen_t dst_len);

void bye_init(struct bye_table *t, uint32_t seed);

/* Ends leg s of a dialog: writes its BYE (relay_write_bye, with reason as the
 * Reason header value) into a transaction slot and sends it through send.
 * Returns 0, or -ENOSPC when the BYE does not fit a datagram of cap bytes (the
 * leg's strings are too long), in which case nothing is sent. */
int bye_start(struct bye_table *t, struct relay_ctx *rc, struct sip_session *s, const char *reason,
	      uint64_t now_ms, char *scratch, size_t cap, bye_send_fn send, void *arg);

/* True when a response's top Via branch is one of our BYEs'. */
bool bye_branch_is_ours(const char *buf, sip_view branch);

/* A response whose branch bye_branch_is_ours: a final one ends its
 * transaction, a provisional one slows its retransmissions to T2. A response
 * that matches no busy transaction is counted as stray. */
void bye_on_response(struct bye_table *t, const struct sip_msg *m);

/* Retransmits what is due and gives up what Timer F ended; cheap when no BYE
 * is outstanding. */
void bye_tick(struct bye_table *t, uint64_t now_ms, bye_send_fn send, void *arg);

#endif
