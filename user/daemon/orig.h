/*
 * orig.h - in-dialog requests that sipshard itself sends on a leg: the session
 * model's bye() when policy or the operator ends a call (timers.dialog_max_s,
 * timers.dialog_idle_s, the session timer, the keep-alive, sipshardctl bye),
 * and info(), message() and refer() from the operator (sipshardctl info,
 * message, refer).
 *
 * Owns: one worker's client transactions for them (RFC 3261 17.1.2, non-INVITE
 * over UDP): the datagram kept for retransmission, Timer E (500 ms doubling to
 * 4 s; 4 s once a provisional response came: timers.t1_ms and t2_ms), Timer F
 * (64*T1, then given up), and matching a response to its request by the branch
 * of our Via (a shard token: shard_orig_encode) and the method. And answering
 * a 401 or 407 to such a request on leg B with the credentials of the call's
 * route (RFC 3261 8.1.3.5, 22.2; cred_answer): the request again, from the
 * datagram kept, as a new transaction (a new branch, Timer E and F afresh)
 * with the next CSeq of the leg and the credentials lines; once per kind and
 * realm of challenge (a second is final), the worker's copy of the routes'
 * credentials (orig_set_creds) holding what answers them. Does not own:
 * writing the request (relay_write_request), the digest (credentials.c,
 * sip/digest.c), sockets (the caller sends), the dialog (after a BYE the
 * caller frees it at once: the call is over on sipshard's side whatever the
 * answers say; a retry's CSeq comes from the caller, orig_cseq_fn).
 *
 * Credentials on the fast path: the controller owns the policy and its
 * routes; a worker must not read them (a reload frees them under it). So the
 * controller hands each worker a copy of every route's auth and its targets'
 * addresses, each target with its key (cred_route_key of the route's name
 * and the target, in any spelling of it), at start and at each reload
 * (DMSG_CREDS, over the command ring, in order with the installs), and each
 * dialog record keeps the key of its route and the target its INVITE went to
 * (shard_dialog.auth_key). A worker looks a key up only when a challenge
 * comes: no allocation, lock or system call. A dialog re-attached after a
 * restart keeps its key and finds its route's credentials in the new
 * process's copy, as a reload that keeps the route's name and that target
 * does. When no route in service has the key any more (a reload or a restart
 * renamed or removed the route, or gave its name other targets: another
 * carrier), the call answers with the credentials of the routes in service
 * that have a target at the address the request goes to (leg B's peer, where
 * the callee answered from), if they have one set of credentials between
 * them: a renamed route's calls keep theirs, and no carrier is sent
 * credentials that no route sends it (a route moved to another carrier under
 * its name no longer answers the old carrier's challenges with the new
 * account). Routes whose credentials differ give none, as two routes sharing
 * a key do. (A record a build before the key named the target wrote holds a
 * key of the name alone, which no entry has: it is found by its peer, as a
 * renamed route's call.)
 *
 * Not the in-dialog keep-alive's OPTIONS (worker.c): one per side and round
 * for every quiet call, they would crowd these slots out, so their state is a
 * byte in each leg of the dialog record (shard/table.h) and they are never
 * retransmitted (the next round is). Only the OPTIONS that answers a
 * challenge to one takes a slot here (orig_start_answering), its final going
 * back to the keep-alive with the cookie the worker gave it.
 *
 * In this process's memory only: a restart loses the transactions in
 * flight, and the re-attach of the dialog tables marks the operator's
 * request a dialog still waited on as lost (SHARD_SENT_LOST, shard/table.h);
 * a final that comes for it later matches nothing here (stray).
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

#include "daemon/credentials.h"
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

/* The dialog a request of ours goes into. */
struct orig_dlg {
	uint32_t slot, gen; /* while it lives, a retry takes its leg's next CSeq */
	uint8_t leg;	    /* SHARD_LEG_A or SHARD_LEG_B */
	/* the credentials that answer a 401 or 407 (shard_dialog.auth_key for
	 * leg B, 0 for leg A: the route's credentials are the callee side's) */
	uint32_t auth_key;
};

/* A route's credentials as a worker keeps them. */
struct orig_cred {
	struct config_auth auth;
	/* its targets: the key of each (a call's key names one), and its
	 * address (config_target.addr, an IPv4-mapped one as the IPv4 address
	 * it stands for, as peers are; len 0 for a name with no address now),
	 * for the calls whose key no entry has any more */
	uint32_t ntargets;
	struct orig_cred_target {
		uint32_t key;		  /* cred_route_key of the route's name and this target */
		struct sockaddr_in6 addr; /* an AF_INET one in its first bytes */
		socklen_t len;
	} targets[CONFIG_MAX_TARGETS];
};
#define ORIG_CREDS_MAX CONFIG_MAX_ROUTES

/* Why a 401 or 407 to a request of ours went unanswered. */
enum orig_auth_refusal {
	/* leg A, a call whose route has no auth (now), or whose route was renamed
	 * or removed and whose peer no route with auth (or several that differ)
	 * has as a target */
	ORIG_AUTH_NO_CREDENTIALS,
	ORIG_AUTH_UNANSWERABLE, /* another realm, a kind not answered, no room */
	ORIG_AUTH_REFUSED,	/* a kind and realm answered before came again */
	ORIG_AUTH_REFUSAL_COUNT_
};

struct orig_txn {
	uint32_t gen;	 /* changes with every use of the slot */
	uint32_t salt;	 /* random, in the branch: a forged answer must guess it */
	bool busy;	 /* waiting for a final response */
	bool proceeding; /* a provisional response came: retransmit every T2 */
	uint8_t method;	 /* enum sip_method: a response must be for it */
	uint32_t cseq;	 /* the request's CSeq number, told to done with its outcome */
	uint64_t cookie; /* the caller's, given back with the outcome */
	uint16_t len;	 /* bytes in data; 0 when the request did not fit */
	/* where the credentials lines start in data (at the end of the header
	 * section; 0: none), and the challenges they answer */
	uint16_t auth_off;
	struct cred_state cred;
	struct orig_dlg dlg;
	uint32_t interval_ms;
	uint64_t next_ms;     /* next retransmission */
	uint64_t deadline_ms; /* Timer F */
	struct sockaddr_in6 peer;
	socklen_t peer_len;
	char data[ORIG_KEEP_MAX];
};

/* Written by the table's worker with counter_inc (core/counter.h), read by
 * the controller thread for stats. */
struct orig_stats {
	uint64_t sent;		      /* requests sent (first transmissions) */
	uint64_t retransmitted;	      /* retransmissions */
	uint64_t answered;	      /* final responses that ended a transaction */
	uint64_t provisional;	      /* provisionals to a busy transaction (dropped) */
	uint64_t unanswered;	      /* transactions given up after Timer F */
	uint64_t overwritten;	      /* transactions that gave their slot up while busy */
	uint64_t call_ended;	      /* stopped because their dialog ended (orig_end_dialog) */
	uint64_t stray;		      /* responses with our prefix that match no busy transaction */
	uint64_t challenges_answered; /* 401s and 407s answered by a retry */
	uint64_t challenges_refused[ORIG_AUTH_REFUSAL_COUNT_]; /* not answered, by why */
};

struct orig_table {
	uint32_t next; /* where the search for a free slot starts */
	uint32_t busy; /* transactions waiting for a final response */
	/* those of them orig_end_dialog stops (in a dialog, not a BYE): a
	 * dialog freed while there are none costs no search */
	uint32_t busy_in_dialog;
	uint32_t gen_seed; /* generations start from a random value */
	uint32_t t1_ms, t2_ms;
	uint8_t shard;		 /* written into every branch, checked back */
	uint8_t refusals_logged; /* bit per enum orig_auth_refusal: logged once */
	uint32_t tx_cap;	 /* a retry longer than this would not leave: not sent */
	struct orig_stats st;
	uint32_t ncreds;
	struct orig_cred creds[ORIG_CREDS_MAX];
	struct orig_txn out[ORIG_SLOTS];
};

/* Sends the datagram at buf (len bytes) to dst: the relay's sender type, so
 * that one function of the worker's (send_orig) sends both the requests of
 * ours and the 487s resent[] keeps. */
typedef relay_send_fn orig_send_fn;
/* A transaction ended: its final status, or 408 when Timer F gave it up (RFC
 * 3261 8.1.3.1) or when it gave its slot up to a newer request (it then
 * stops waiting as at Timer F, only sooner); resp is the final response
 * that ended it, NULL for those two, where no response came (the keep-alive
 * tells a side that answered 408 from one that stayed silent; a 2xx to a
 * REFER, a target refresh, brings the side's new remote target in its
 * Contact: RFC 3261 12.2.1.2); cookie is what orig_start was given, leg and
 * cseq the leg (orig_dlg) and CSeq number the request went with (a retry's,
 * when a challenge was answered): a REFER's outcome is its transfer's, named
 * by them, whatever was sent into the call since. */
typedef void (*orig_done_fn)(void *arg, uint64_t cookie, uint8_t method, uint8_t leg, uint32_t cseq,
			     int status, const struct sip_msg *resp);

/* The CSeq number a retry of a request of ours into dlg takes, the one
 * challenged being challenged: the leg's next while the dialog lives (which it
 * then takes, so that no later request of the leg reuses it), else
 * challenged + 1. */
typedef uint32_t (*orig_cseq_fn)(void *arg, const struct orig_dlg *dlg, uint32_t challenged);

/* What orig_on_response may do: send a retry, end a transaction, number a
 * retry (done and cseq may be NULL: nobody told; challenged + 1). */
struct orig_io {
	orig_send_fn send;
	orig_done_fn done;
	orig_cseq_fn cseq;
	void *arg;
};

/* An empty table for shard's worker: seed (random) starts the generations and
 * salts; t1_ms and t2_ms are timers.t1_ms and t2_ms. No credentials; retries
 * up to ORIG_KEEP_MAX bytes (tx_cap). */
void orig_init(struct orig_table *t, uint8_t shard, uint64_t seed, uint32_t t1_ms, uint32_t t2_ms);

/* The worker's copy of the routes' credentials (DMSG_CREDS): entry index of
 * count is c (NULL: none, as for count 0); entries at and above count are
 * dropped. The controller sends index 0 to count - 1 in order after every
 * change; a challenge between two of them finds the entries there then. */
void orig_set_creds(struct orig_table *t, uint32_t index, uint32_t count,
		    const struct orig_cred *c);

/* Route r's credentials and its targets' addresses as an entry of the
 * workers' copy (and of the controller's: ctl_set_policy). */
void orig_cred_of_route(const struct config_route *r, struct orig_cred *e);

/* The credentials of the route one of whose targets has key key among the
 * count entries of creds, for a request to peer (len bytes; NULL: by key
 * only); NULL when none answer. A key no entry has any more (its route
 * renamed or removed, or given other targets by a reload) gives the
 * credentials of the routes with a target at peer, when they agree. The
 * workers' lookup for the in-dialog requests of sipshard (peer: leg B's,
 * where the callee answered from), and the controller's for leg B's INVITE
 * of a call whose route a reload changed (peer: the target it went to). */
const struct config_auth *orig_creds_find(const struct orig_cred *creds, uint32_t count,
					  uint32_t key, const void *peer, socklen_t len);
/* The key orig_creds_find answers from for a request to peer (len bytes):
 * key itself while an entry has it, else that of the target at peer of the
 * routes with one there, when they agree; 0 when none (key 0 too). For a
 * dialog whose later requests go to peer (a call that replaces one, to its
 * party): the key it gives them answers them as the dialog it replaces was
 * answered. */
uint32_t orig_creds_key_at(const struct orig_cred *creds, uint32_t count, uint32_t key,
			   const void *peer, socklen_t len);

/* Sends req on leg s of dialog dlg (NULL: a challenge to it is final): writes
 * it (relay_write_request) into scratch (cap bytes), keeps it in a
 * transaction slot with cookie and sends it through send; the oldest
 * transaction, when it must give its slot up, ends through done (408).
 * Returns 0, or -ENOSPC when it does not fit cap bytes (the leg's strings or
 * the body are too long), in which case nothing is sent. */
int orig_start(struct orig_table *t, struct relay_ctx *rc, struct sip_session *s,
	       const struct relay_req *req, const struct orig_dlg *dlg, uint64_t cookie,
	       uint64_t now_ms, char *scratch, size_t cap, orig_send_fn send, orig_done_fn done,
	       void *arg);

/* orig_start of req (sent before, outside these transactions: the
 * keep-alive's OPTIONS) with the lines that answer challenge, the 401 or 407
 * that came to it, with dlg's credentials; its final comes back through done
 * with cookie. -EACCES when it is not answered (counted and logged once as
 * orig_on_response does), -ENOSPC as orig_start; nothing is sent then, and
 * without credentials for dlg nothing is written either: the leg's CSeq is
 * not taken. */
int orig_start_answering(struct orig_table *t, struct relay_ctx *rc, struct sip_session *s,
			 const struct relay_req *req, const struct orig_dlg *dlg,
			 const struct sip_msg *challenge, uint64_t cookie, uint64_t now_ms,
			 char *scratch, size_t cap, orig_send_fn send, orig_done_fn done,
			 void *arg);

/* True when a response's top Via branch is one of our requests'. */
bool orig_branch_is_ours(const char *buf, sip_view branch);

/* A response whose branch orig_branch_is_ours: a final one ends its
 * transaction, a provisional one slows its retransmissions to T2. A response
 * that matches no busy transaction is counted as stray. A 401 or 407 to a
 * request on leg B whose dialog's route has credentials that answer it is
 * answered: the request goes again at now_ms (io->send) with the credentials
 * lines and the CSeq io->cseq gives, as a new transaction in the slot, and
 * io->done hears nothing yet; any other final, and a challenge not answered
 * (counted by why, the first of each kind logged), goes to io->done (which
 * may be NULL). */
void orig_on_response(struct orig_table *t, const struct sip_msg *m, uint64_t now_ms,
		      const struct orig_io *io);

/* Dialog slot, gen ended (freed): its requests still waiting for a final,
 * but a BYE (which ends dialogs: its dialog is freed as it leaves, and it is
 * resent until answered), are no longer retransmitted, and their slots are
 * free. The operator's INFO, MESSAGE or REFER, or the keep-alive's OPTIONS
 * again with credentials, into a call that then ended was resent until
 * Timer F, to a peer that answers 481 at best; the operator's command has
 * its answer already ("call_ended": the worker tells it as the dialog is
 * freed), and done hears nothing of them. A final that comes for one later
 * is stray. Returns how many were stopped (counted in call_ended). The worker
 * calls it for every dialog it frees: a scan of the slots only while one
 * such request is busy (busy_in_dialog), else nothing. */
unsigned orig_end_dialog(struct orig_table *t, uint32_t slot, uint32_t gen);

/* Retransmits what is due and gives up what Timer F ended (telling done, which
 * may be NULL); cheap when no request is outstanding. */
void orig_tick(struct orig_table *t, uint64_t now_ms, orig_send_fn send, orig_done_fn done,
	       void *arg);

#endif
