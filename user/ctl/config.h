/*
 * config.h - sipshardd's configuration: one JSON document (jansson), or the
 * embedded default when there is none.
 *
 * Owns: the configuration model, defaults, validation (unknown keys and bad
 * values are errors that name the key's path), printing the effective
 * configuration, which target an address or name written by an operator
 * stands for (config_target_named), and the one spelling of a target
 * (config_target_canonical). Does not own: applying policy (policy.h),
 * creating the run directory or the management socket, or any other use of the values. Every
 * key is documented in examples/CONFIG.md; keep the two in step.
 *
 * The model is one flat struct with fixed-size arrays, so a configuration can
 * be copied with memcpy and needs no freeing (config_free is kept so callers
 * need not change if that ever stops being true).
 */
#ifndef SIPSHARD_CONFIG_H
#define SIPSHARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "sipshard/sip.h"

#define CONFIG_MAX_ROUTES	 64
#define CONFIG_MAX_ACL_RULES	 256
#define CONFIG_MAX_OOD		 16
#define CONFIG_STR_MAX		 256
#define CONFIG_PATH_MAX		 256
#define CONFIG_SOCK_PATH_MAX	 108 /* sizeof(((struct sockaddr_un *)0)->sun_path) */
#define CONFIG_MAX_WORKERS	 64  /* = SHARD_MAX_WORKERS (sipshard/hash.h) */
#define CONFIG_MAX_TARGETS	 8   /* per route, tried in order */
#define CONFIG_MAX_FAILOVER	 16  /* statuses in routes[].failover_on */
#define CONFIG_TARGET_MAX	 64  /* "[IPv6 with a dotted quad]:65535" is 54 */
#define CONFIG_AUTH_REALMS_MAX	 4   /* auth.realm: a proxy's and its server's, and room */
#define CONFIG_MAX_SRV_RECORDS	 64  /* of one name, read at a load (the best are used) */
#define CONFIG_MAX_REGISTRATIONS 16
#define CONFIG_MAX_REGISTRAR_SRV 4   /* SRV records a registrar's name may give */
#define CONFIG_AOR_MAX		 256 /* "sip:user@domain" of a registration */
#define CONFIG_MAX_STRIP_HEADERS SIP_NAMES_MAX

struct config_cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t prefix;
};

struct config_acl_rule {
	bool allow;
	struct config_cidr cidr;
};

struct config_route {
	char name[64];
	char user_prefix[64]; /* "" = any user, including none */
	char domain[128];     /* "" = any host; an IPv6 host is kept in brackets */
	bool has_source;
	struct config_cidr source;
	/* 1 to CONFIG_MAX_TARGETS; 0 in a policy whose route a refresh left
	 * without a target in service (config_in_service) */
	unsigned ntargets;
	bool targets_array; /* written as "targets" (not "target"): for error paths */
	bool round_robin;   /* select "round_robin": each call starts one target on */
	/* leg B's Request-URI (and To) user: its first rewrite_strip characters
	 * removed, rewrite_prefix put in front */
	uint32_t rewrite_strip;
	char rewrite_prefix[64];
	struct config_target {
		/* "IP:port", "[IPv6]:port" or "name:port" as written; for a target
		 * from an SRV record, the record's "name:port" */
		char text[CONFIG_TARGET_MAX];
		bool by_name; /* text names a host: addr is what it resolved to at load */
		/* a name written without a port (RFC 3263 4.2): leg B's Request-URI
		 * and To carry it, and the load makes one target of each of its SRV
		 * records (_sip._udp.NAME; its A/AAAA at port 5060 when it has none);
		 * "" for the other targets */
		char domain[CONFIG_TARGET_MAX];
		bool srv; /* made from an SRV record of domain */
		/* domain's SRV records all said "." at the last dns_refresh_s
		 * (RFC 2782: no SIP over UDP there; a load refuses it): this
		 * entry stands for the name (text is the name, no address), so
		 * that the next refresh looks it up again, and
		 * config_in_service leaves it out */
		bool no_service;
		uint16_t srv_priority; /* that record's priority */
		struct sockaddr_storage addr;
		socklen_t addr_len;
		/* calls at once to this address, from every route (0 = no limit) */
		uint32_t max_calls;
		/* INVITEs a second to this address, a second's worth at once (0 = no limit) */
		uint32_t max_cps;
		/* select round_robin: its share of the route's new calls against the
		 * other targets' weights (1-1000, 1); a target from an SRV record
		 * has the record's weight (0-65535), against the others of its tier */
		uint32_t weight;
	} targets[CONFIG_MAX_TARGETS];
	/* some targets come from SRV records: a new call starts at a target of
	 * the first tier with one that is up (config_same_tier), by weight, and
	 * goes on to the others in order */
	bool srv;
	/* final statuses from a target that make leg B's INVITE go to the next
	 * one (as a target that never answers does) */
	unsigned nfailover;
	uint16_t failover_on[CONFIG_MAX_FAILOVER];
	uint32_t failover_ms; /* a target silent this long is given up, when another is left */
	uint32_t down_s;      /* and skipped by new calls this long (0 = never skipped) */
	uint32_t probe_s;     /* while down, sent an OPTIONS this often (0 = never) */
	/* while up, each target is sent an OPTIONS this often, and one that
	 * answers none within failover_ms is down (0 = never) */
	uint32_t keepalive_s;
	/* credentials leg B's INVITE answers a 401 or 407 of a target with
	 * (digest); username "" = none, the challenge is relayed to the caller */
	struct config_auth {
		char username[64];
		char password[128];
		/* the realms whose challenges are answered; none: any realm */
		char realm[CONFIG_AUTH_REALMS_MAX][128];
		uint32_t nrealms;
	} auth;
	/* a hash of the name and the targets, never 0: a set-up record keeps it,
	 * so that a reload or restart that changed the route stops its failover */
	uint32_t tag;
};

/* sipshard registering itself with a registrar (a registration-based SIP
 * trunk: the carrier sends its calls to the Contact registered). */
struct config_registration {
	char name[64];
	struct config_target registrar; /* where the REGISTERs go */
	/* registrar written as a name without a port (its domain set): the
	 * targets of its SRV records (RFC 3263 4.2), best first; an attempt that
	 * fails for want of an answer or with 503 moves on to the next one
	 * (register.c). 0 for a registrar with a port. A dns_refresh_s that
	 * finds the records all "." (RFC 2782) leaves one entry standing for
	 * the name, no_service (no address): the attempts fail until records
	 * come back (a load refuses such a name) */
	struct config_target registrar_srv[CONFIG_MAX_REGISTRAR_SRV];
	unsigned nregistrar_srv;
	char aor[CONFIG_AOR_MAX]; /* "sip:user@domain": To and From */
	uint16_t aor_user_len;	  /* aor + 4: the user part, then '@' and the domain */
	struct config_auth auth;  /* username "" = none: a challenge fails it */
	uint32_t expires_s;	  /* asked for: 60-86400 */
	uint32_t retry_s;	  /* after a failure: 1-3600 */
};

struct config_ood {
	char method[32]; /* case-sensitive, as on the wire */
	int status;
};

struct config {
	char listen[CONFIG_STR_MAX];
	struct sockaddr_storage listen_addr;
	socklen_t listen_addr_len;
	/* host:port put in Via, Contact, leg B's From; always holds a port
	 * (the listen port when the configured value had none) */
	char advertise[CONFIG_STR_MAX];
	unsigned workers; /* 0 = one per online CPU */
	bool bpf, io_uring;
	bool persist_dialogs;	 /* shard tables as files in run_dir (restart survival) */
	char log_level[16];	 /* error, warn, info or debug */
	bool log_to_syslog;	 /* log_target "syslog" */
	unsigned tx_buffer_size; /* bytes of one outgoing datagram buffer */
	char management_socket[CONFIG_SOCK_PATH_MAX]; /* "" = no management socket */
	char run_dir[CONFIG_PATH_MAX];		      /* shard table files */
	char cdr_file[CONFIG_PATH_MAX];		      /* "" = no CDRs */
	char metrics_listen[CONFIG_STR_MAX];	      /* "" = no Prometheus endpoint */
	struct sockaddr_storage metrics_addr;
	socklen_t metrics_addr_len;
	struct {
		uint32_t dialogs_per_shard, transactions_per_shard, setups;
		/* slots of each worker's long-head pool (shard/table.h): 0 = none;
		 * unset, transactions_per_shard / 64 rounded up */
		uint32_t long_heads_per_shard;
	} capacity;
	struct {
		uint32_t t1_ms, t2_ms, transaction_timeout_ms, dialog_idle_s, dialog_max_s;
		uint32_t drain_s;     /* SIGTERM: longest wait for calls to end */
		uint32_t no_answer_s; /* a call ringing this long from its INVITE is given up */
		/* a call whose session interval (RFC 4028) passes without a
		 * refresh is ended */
		bool session_timer;
		/* leg B's INVITE asks the callee for this session interval when
		 * the caller's asks for none (RFC 4028 section 8.1); 0 = never */
		uint32_t session_expires_s;
		/* an INVITE, re-INVITE or UPDATE that asks for a shorter session
		 * interval, and says it can refresh, is refused 422 with this
		 * Min-SE (RFC 4028 section 8.1); 0 = none refused */
		uint32_t min_se_s;
		/* every confirmed call's legs get an in-dialog OPTIONS when it
		 * was quiet this long (0 = never); a leg that answers none of
		 * dialog_keepalive_misses in a row, or 408/481, ends the call */
		uint32_t dialog_keepalive_s, dialog_keepalive_misses;
	} timers;
	struct {
		uint32_t max_calls, calls_per_second_per_source, burst, retry_after_s, rate_sources;
	} limits;
	bool acl_default_allow;
	unsigned nacl;
	struct config_acl_rule acl[CONFIG_MAX_ACL_RULES];
	unsigned nroutes;
	struct config_route routes[CONFIG_MAX_ROUTES];
	int no_route_status;
	/* targets given by name are resolved again this often (0: only when the
	 * file is loaded) */
	uint32_t dns_refresh_s;
	unsigned nregistrations;
	struct config_registration registrations[CONFIG_MAX_REGISTRATIONS];
	unsigned nood;
	struct config_ood ood[CONFIG_MAX_OOD];
	int ood_default_status;
	/* header fields that never cross from one leg to the other (topology
	 * hiding): leg B's INVITE, the responses relayed to the caller, and
	 * the in-dialog requests and responses the workers relay. Read by the
	 * workers from the configuration the process started with: a reload
	 * keeps the running value (config_keep_restart_keys). */
	struct config_strip {
		unsigned n;
		char written[CONFIG_MAX_STRIP_HEADERS][SIP_NAME_MAX]; /* as written, in order */
		uint64_t known;		/* SIP_HBIT of those with an id (compact forms too) */
		struct sip_names other; /* the extension headers (SIP_HDR_OTHER) */
	} strip_headers;
	/* a REFER relayed from one leg to the other names our advertise as
	 * the host and port of its Refer-To (topology hiding), so that the
	 * transferee's INVITE comes here. Read by the workers from the
	 * configuration the process started with, as strip_headers is. */
	bool rewrite_refer_to;
};

/* strip_headers as the writer takes it (sip_wspec_strip); its names point
 * into c, which must outlive it. */
static inline struct sip_strip config_strip_set(const struct config *c)
{
	return (struct sip_strip){c->strip_headers.known,
				  c->strip_headers.other.n ? &c->strip_headers.other : NULL};
}

/* The embedded default: listen 127.0.0.1:5060, every call to 127.0.0.1:5080.
 * Everything else takes the per-key defaults of examples/CONFIG.md. */
extern const char config_default_json[];

/*
 * Each loader returns 0 and fills *c, or returns -EINVAL, leaves *c exactly as
 * it was (so a failed reload keeps the running configuration) and writes one
 * line to err:
 *   config_load_string: "key.path: problem", or "line L, column C: problem"
 *                       for a JSON syntax error;
 *   config_load_file:   the same prefixed with the file: "FILE: key.path:
 *                       problem", "FILE:L:C: problem", "FILE: cannot read: why".
 * -ENOMEM is possible too (err says so).
 */
int config_load_default(struct config *c, char *err, size_t errlen);
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);
int config_load_string(struct config *c, const char *json, char *err, size_t errlen);
/* Only the management socket a file's daemon listens on (management_socket,
 * else RUN_DIR/sipshardd.sock), for sipshardctl: the rest of the file is not
 * validated and no name is resolved, so that a file being edited, or a DNS
 * outage, does not keep the operator from the running daemon. 0, or -EINVAL
 * with "FILE: key: problem" in err. */
int config_management_socket(const char *path, char *out, size_t cap, char *err, size_t errlen);

/* The effective configuration (every key, defaults filled in) as indented
 * JSON that config_load_string accepts and turns into the same configuration.
 * Caller frees; NULL when out of memory. */
char *config_to_json(const struct config *c);
/* The same as a jansson object (caller owns the reference); NULL when out of
 * memory. */
struct json_t;
struct json_t *config_to_object(const struct config *c);
void config_free(struct config *c);

/*
 * A reload applies what the policy decides (acl, routes, no_route_status,
 * out_of_dialog, limits) and log_level. The other keys shape the running
 * process (its socket, threads, tables, timers, files, and strip_headers
 * and rewrite_refer_to, which the workers read from the configuration they
 * started with) and
 * take effect at the next start only. config_restart_changes writes to
 * names (up to cap of them) the key paths of those whose values differ
 * between running and next, and returns how many differ;
 * config_keep_restart_keys copies their running values into next, so that
 * next describes the process as it will run.
 */
size_t config_restart_changes(const struct config *running, const struct config *next,
			      const char **names, size_t cap);
void config_keep_restart_keys(struct config *next, const struct config *running);
/* After config_keep_restart_keys: every route target and registrar can be
 * reached from the listen address the process really has (a file whose new
 * listen is of another family validated its targets against that one). 0, or
 * -EINVAL with "key.path: problem" in err. */
int config_check_reachable(const struct config *c, char *err, size_t errlen);

/* Resolves the targets and registrars given by name again (dns_refresh_s), in place: a
 * name that resolves to another address takes it (the target in changed,
 * up to cap of them); a name that no longer resolves keeps its address, and
 * the first such is described in err (one line; "" when every name
 * resolved). Returns how many changed. May block: not for the controller
 * or a worker thread. */
int config_resolve_names(struct config *c, const struct config_target **changed, size_t cap,
			 char *err, size_t errlen);

/*
 * dns_refresh_s for route targets and registrars written as names without
 * a port: their SRV records (and, for a name without any, its address)
 * looked up again. A route or registration whose targets come out other than
 * before (records added, gone, or with another priority, weight, port or
 * address) takes the new ones (a route with a new tag) and is listed in
 * changed (cap entries at most); one whose lookup fails keeps its targets,
 * and the first such failure is described in err ("" when there was none).
 * Returns how many changed. May
 * block, like config_resolve_names; call it first, so that the addresses
 * that call compares are those of the targets in force.
 */
struct config_srv_change {
	const char *kind;  /* "route" or "registration" */
	const char *name;  /* its name */
	unsigned ntargets; /* the targets (or registrar records) it has now */
	/* a name of the route, or the registrar, whose SRV records all say "."
	 * now (its targets are out of service: no_service; a registration's
	 * ntargets is then 0); NULL when none does */
	const char *no_service;
};
int config_refresh_srv(struct config *c, struct config_srv_change *changed, size_t cap, char *err,
		       size_t errlen);

/*
 * What of c (as config_refresh_srv and config_resolve_names left it) goes into
 * service, into out: c with each route's targets but those at the address
 * of an earlier target of the route (the first in order is kept: a load
 * would refuse the second; a refresh moved a name there) and those standing
 * for a name whose SRV records say "." (no_service). A route that loses
 * any gets a new tag (its calls setting up stop failing over), and may be
 * left with none (its new calls get 503). Each target left out is listed in
 * left (cap entries at most; pointers into c), same naming the earlier
 * target at its address (NULL for no_service); returns how many there are.
 * c keeps them all, so that the next refresh looks their names up again.
 */
struct config_left_out {
	const struct config_route *route;
	const struct config_target *target, *same;
};
int config_in_service(const struct config *c, struct config *out, struct config_left_out *left,
		      size_t cap);

/* Targets a and b of one route are in one tier: both made from the SRV
 * records of one domain with one priority (RFC 2782: tried by weight before
 * any record of a higher priority). Every other target is a tier alone. */
static inline bool config_same_tier(const struct config_target *a, const struct config_target *b)
{
	return a == b || (a->srv && b->srv && a->srv_priority == b->srv_priority &&
			  !strcmp(a->domain, b->domain));
}

/* Target t is the one text names, as an operator writes it (sipshardctl
 * disable|enable): text is an "IP:port" or "[IPv6]:port" of t's address, in
 * any spelling of it ("[0::1]:5080" is "[::1]:5080"), or t's name and port
 * as written, the name in any letter case (RFC 4343) and the port in any
 * spelling ("Carrier.Example:05060" is "carrier.example:5060"). */
bool config_target_named(const struct config_target *t, const char *text);

/* Target t in one spelling of all those the configuration takes for it,
 * into out (CONFIG_TARGET_MAX is room enough): an IP literal as
 * udp_format_addr writes its address ("[0::1]:05080" is "[::1]:5080"; an
 * IPv4-mapped "[::ffff:192.0.2.1]:5060" is "192.0.2.1:5060"), a
 * name with its port ("name:port") or an SRV domain (t->domain, for every
 * target made from its records) in lower case (RFC 4343) with the port as a
 * number. Made from what is written, never from the address a name resolved
 * to: a DNS answer that moves leaves it as it was. The key of a route's
 * credentials at t (cred_route_key) hashes it, so that a reload that writes
 * the same target another way keeps the key. */
void config_target_canonical(const struct config_target *t, char *out, size_t cap);

/* Whether credentials a and b are the same account answering the same
 * challenges: username and password, and auth.realm's realms in any order
 * (a list is a set of realms, each named once). A reload that reorders the
 * list changes nothing, and two routes to one target that list them
 * differently have one set of credentials there (orig.c). */
bool config_auth_same(const struct config_auth *a, const struct config_auth *b);

/* Where run_dir defaults to for a process with this effective uid:
 * /run/sipshard for root, /tmp/sipshard-UID otherwise. */
void config_default_run_dir(uid_t euid, char *out, size_t cap);

/* CIDR helpers shared with policy. config_parse_cidr accepts "IP/len" with the
 * host bits clear, or a bare IP (= /32 or /128); 0 or -EINVAL. */
int config_parse_cidr(const char *s, struct config_cidr *out);
/* An IPv4 address matches both IPv4 rules and ::ffff:a.b.c.d IPv6 rules, and
 * a v4-mapped IPv6 address matches IPv4 rules. */
bool config_cidr_match(const struct config_cidr *c, const struct sockaddr *sa);

#endif
