/*
 * register.h - sipshard registering itself with registrars (RFC 3261 10): a
 * registration-based SIP trunk, whose carrier sends its calls to the Contact
 * registered for an address of record.
 *
 * Owns: one state per configured registration (config registrations[]): the
 * REGISTER transaction in flight and its retransmissions (Timer E and F of
 * RFC 3261 17.1.2), the answers to digest challenges (credentials.h: a
 * proxy's 407 and the registrar's 401 behind it, both kept in the REGISTERs
 * that follow), a 423's Min-Expires (remembered for the refreshes), the
 * refresh before the binding expires, the retry after a failure, what is
 * kept across a reload, and the unregistering (RFC 3261 10.2.2: a REGISTER
 * with Expires: 0) of a binding whose registration a reload removed or
 * pointed elsewhere (reg_set.leaving). Does not own: the socket (the
 * caller's send hook), where responses come from (the controller hands over
 * those to a REGISTER), the configuration.
 *
 * Single-threaded: the controller's thread runs every call. Nothing is
 * unregistered when the process stops: a binding outlives a restart, and the
 * next process registers again at its start.
 */
#ifndef SIPSHARD_REGISTER_H
#define SIPSHARD_REGISTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl/config.h"
#include "daemon/credentials.h"
#include "sipshard/sip.h"

#define REG_REQUEST_MAX 2048

/* 423s an attempt asks again after, each with its Min-Expires: a registrar's
 * and one more (a registrar of a farm that wants more than the first); the
 * next fails the attempt, so that a registrar whose Min-Expires grows at
 * each 423 cannot keep one going, a REGISTER per 423 with no pause */
#define REG_RAISES_MAX 2

/* Registrations unregistering at once: a reload removes at most
 * CONFIG_MAX_REGISTRATIONS; one that comes while earlier ones are still at
 * it (Timer F: 64*T1) gives up the oldest for a new one when all are taken. */
#define REG_LEAVING_MAX CONFIG_MAX_REGISTRATIONS
/* The index in the branch of leaving[k]'s REGISTER: REG_LEAVING_INDEX + k,
 * above any of e[] */
#define REG_LEAVING_INDEX 0x80u

struct reg_ops {
	void (*send)(void *arg, const char *buf, size_t len, const struct sockaddr *to,
		     socklen_t tolen);
	uint64_t (*rand)(void *arg);
	void *arg;
};

struct reg_entry {
	struct config_registration cfg; /* a copy: the configuration may go at a reload */
	char call_id[40], from_tag[20];
	uint32_t cseq;	/* of the last REGISTER sent */
	uint64_t nonce; /* in the branch of the transaction in flight */
	bool in_flight; /* a REGISTER awaits its final response */
	/* in reg_set.leaving: its REGISTER asks for Expires: 0, and its end,
	 * whichever, frees the slot (the slot is in use while in_flight) */
	bool leaving;
	struct cred_state creds; /* the challenges the REGISTER in flight answers */
	/* the REGISTER in flight repeats credentials no new challenge asked for
	 * (after a 423): a challenge to it may be the server refusing a nonce
	 * used again, so it is answered afresh when it cannot be otherwise */
	bool creds_repeated;
	uint32_t asked_s; /* the expiry the REGISTER in flight asks for */
	uint8_t raised;	  /* 423s the attempt in flight asked again after (REG_RAISES_MAX) */
	/* the registrar's Min-Expires (its last 423), 0 = none: each attempt
	 * asks for at least this much, for as long as the registration is kept
	 * (a reload that changes it starts afresh) */
	uint32_t min_expires_s;
	int last_status; /* final status of the last attempt (408: none), 0 = none yet */
	uint64_t t_next, t_interval, t_deadline; /* in flight: Timer E, Timer F */
	uint64_t next_send;			 /* not in flight: next attempt */
	uint64_t registered_until;		 /* 0 = not registered */
	uint32_t granted_s;			 /* by the last 2xx */
	/* the last 2xx did not list our Contact among the bindings (RFC 3261
	 * 10.2.4): taken for its Expires header or what was asked, and told
	 * once (logged when it starts and when it ends) */
	bool contact_unlisted;
	uint8_t srv_at;	   /* registrar by SRV: the record the REGISTERs go to (reg_registrar) */
	uint8_t bound_srv; /* registrar by SRV: the record whose 2xx gave the binding */
	uint16_t request_len;
	char request[REG_REQUEST_MAX]; /* in flight: the REGISTER, for retransmissions */
};

struct reg_stats {
	uint64_t sent;		/* REGISTER transactions started */
	uint64_t retransmitted; /* their retransmissions */
	uint64_t registered;	/* 2xx received */
	/* of those, the ones that did not list our Contact (reg_entry.contact_unlisted) */
	uint64_t contact_unlisted;
	uint64_t failed;	/* attempts that ended without a binding */
	uint64_t auth_answered; /* challenges answered */
	uint64_t dropped_stale; /* responses to no REGISTER in flight */
	/* registrations a reload removed or pointed elsewhere, that held a
	 * binding: each started unregistering (counted once, whatever the
	 * challenges), and how it ended: a 2xx, anything else (another final,
	 * a challenge not answered, Timer F, no slot left), or a reload that
	 * registers it again (its unregistering would undo that) */
	uint64_t unreg_started;
	uint64_t unreg_done;
	uint64_t unreg_failed;
	uint64_t unreg_superseded;
};

struct reg_set {
	struct reg_entry e[CONFIG_MAX_REGISTRATIONS];
	unsigned n;
	/* bindings being unregistered (a slot is in use while in_flight) */
	struct reg_entry leaving[REG_LEAVING_MAX];
	const char *advertise; /* host:port of Via and Contact */
	uint32_t t1_ms, t2_ms;
	uint64_t due; /* reg_tick has nothing to do before then */
	struct reg_stats st;
};

/* Takes the registrations of cfg (at the start and at each reload, at now):
 * one that was there before under its name, with the same registrar,
 * address of record, credentials and expiry, keeps its state (and its
 * binding); one that takes over a binding held before (the same address of
 * record at the same registrar, as same_binding says; another name,
 * credentials or expiry) keeps that one's Call-ID, From tag and CSeq (RFC
 * 3261 10.2), and its binding when the registrar's addresses are the same,
 * and registers at the next tick; any other starts afresh, with a new
 * Call-ID, and registers at the next tick. One
 * that was there before and is no more, or whose binding cfg would not take
 * over (no registration of cfg has its address of record at its registrar:
 * the same registrar as written, or the address it registered at), sends
 * its registrar a REGISTER with Expires: 0 now when it holds a binding
 * (leaving), and is dropped otherwise. advertise and the timers are the
 * process's. */
void reg_configure(struct reg_set *rs, const struct config *cfg, const char *advertise,
		   uint32_t t1_ms, uint32_t t2_ms, uint64_t now, const struct reg_ops *ops);

/* Sends what is due at now (new REGISTERs, retransmissions, the leaving
 * ones' too) and gives up transactions past Timer F. Returns when it next has something to do. */
uint64_t reg_tick(struct reg_set *rs, uint64_t now, const struct reg_ops *ops);

/* A response whose top Via has a registration's branch: false when r is no
 * REGISTER's of ours (the caller counts it); otherwise handled, and rs->due
 * may have moved. */
bool reg_on_response(struct reg_set *rs, const struct sip_msg *r, uint64_t now,
		     const struct reg_ops *ops);

/* Where e's REGISTERs go: its registrar, or the SRV record of it that e is
 * at now (cfg.registrar_srv: an attempt that gets no answer or a 503 moves
 * on to the next one). A registrar whose SRV records a dns_refresh_s found
 * all "." has one entry, no_service, with no address: each attempt then
 * fails without a REGISTER, logged, until a refresh finds records again. */
static inline const struct config_target *reg_registrar(const struct reg_entry *e)
{
	const struct config_registration *g = &e->cfg;
	return g->nregistrar_srv ? &g->registrar_srv[e->srv_at % g->nregistrar_srv] : &g->registrar;
}

/* True while entry e holds a binding the registrar granted. */
static inline bool reg_is_registered(const struct reg_entry *e, uint64_t now)
{
	return e->registered_until > now;
}

/* Whole seconds its binding has left (0 when it holds none). */
static inline uint64_t reg_expires_in_s(const struct reg_entry *e, uint64_t now)
{
	return reg_is_registered(e, now) ? (e->registered_until - now) / 1000 : 0;
}

#endif
