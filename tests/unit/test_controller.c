/*
 * test_controller.c - the controller's call set-up driven through its hooks,
 * as the daemon drives it: what it sends to each leg, which dialogs it hands
 * to the workers, and how it counts calls. Cases the fuzzer (fuzz_controller)
 * found are here with their exact expectations.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../common/addr.h"
#include "../common/digest_check.h"
#include "../common/relay_dialog.h"
#include "core/keyhash.h"
#include "ctl/config.h"
#include "ctl/policy.h"
#include "daemon/controller.h"
#include "daemon/daemon.h"
#include "daemon/detached.h"
#include "daemon/log.h"
#include "daemon/setup_msg.h"

enum { MAX_SENT = 64, DIALOGS = 16 };

/* room for the largest datagram a worker takes (8192 bytes) */
enum { DATAGRAM_ROOM = 8200 };

struct sent {
	char buf[DATAGRAM_ROOM];
	size_t len;
	struct sockaddr_in to;
	bool after_install; /* through send_after_install */
};

static struct config cfg;
static struct policy *pol;
static struct ctl *ctl;
static struct sent sent[MAX_SENT];
static unsigned nsent, ninstall, nrelease;
static struct shard_dialog last_install;
static uint32_t last_install_session_s;	      /* the session interval it came with */
static struct shard_dialog installs[DIALOGS]; /* every install, in order */
/* what the hooks were asked, in order: 'I' install, 'S' send, 'A' send after
 * install; ordered_fails makes send_after_install refuse (a full ring) */
static char events[64];
static unsigned nevents;
static bool ordered_fails, install_fails, ordered_too_big;

static void note_event(char e)
{
	if (nevents + 1 < sizeof(events))
		events[nevents++] = e;
	events[nevents] = '\0';
}
static struct sip_msg m, out;
static char in[DATAGRAM_ROOM];
static struct sockaddr_in alice, bob;

/* The start of each small configuration below: a listen address and
 * capacities for a few calls. */
#define SMALL_CONFIG_HEAD                                                                          \
	"{\"listen\": \"127.0.0.1:5060\","                                                         \
	" \"capacity\": {\"dialogs_per_shard\": 16, \"transactions_per_shard\": 32, \"setups\": "  \
	"16},"

static const char test_config[] = SMALL_CONFIG_HEAD
    " \"limits\": {\"max_calls\": 4},"
    " \"routes\": [{\"name\": \"b\", \"match\": {\"user_prefix\": \"\", \"domain\": null,"
    "  \"source\": null}, \"target\": \"127.0.0.1:5090\"}]}";

/* A route with three targets (bob on 5090, 5091, 5092), failing over after
 * 1 s of silence or on the default statuses. */
#define FAILOVER_CONFIG(extra)                                                                     \
	SMALL_CONFIG_HEAD                                                                          \
	" \"routes\": [{\"name\": \"trunk\", \"targets\": [\"127.0.0.1:5090\", "                   \
	"\"127.0.0.1:5091\","                                                                      \
	"  \"127.0.0.1:5092\"], \"failover_ms\": 1000" extra "}]}"
static const char failover_config[] = FAILOVER_CONFIG("");
/* the same, the user part rewritten: "+1" off, "00" on */
static const char failover_rewrite_config[] =
    FAILOVER_CONFIG(", \"rewrite\": {\"strip\": 2, \"prefix\": \"00\"}");
/* the same, each call starting one target on */
static const char failover_rr_config[] = FAILOVER_CONFIG(", \"select\": \"round_robin\"");
/* the same with an OPTIONS to each target every 2 s */
static const char failover_keepalive_config[] = FAILOVER_CONFIG(", \"keepalive_s\": 2");
/* the same, found silent but never down */
static const char keepalive_no_down_config[] =
    FAILOVER_CONFIG(", \"keepalive_s\": 2, \"down_s\": 0");
/* a target given by name (/etc/hosts: 127.0.0.1) */
static const char named_config[] =
    SMALL_CONFIG_HEAD " \"routes\": [{\"name\": \"named\", \"target\": \"localhost:5090\"}]}";
/* round robin with 5090 three times the weight of the others */
static const char weighted_config[] =
    SMALL_CONFIG_HEAD " \"routes\": [{\"name\": \"w\", \"select\": \"round_robin\", \"targets\": ["
		      "  {\"address\": \"127.0.0.1:5090\", \"weight\": 3}, \"127.0.0.1:5091\","
		      "  \"127.0.0.1:5092\"]}]}";
/* the same, failing over on 408 only */
static const char failover_408_config[] = FAILOVER_CONFIG(", \"failover_on\": [408]");
/* the same with targets down for 300 s */
static const char failover_long_down_config[] = FAILOVER_CONFIG(", \"down_s\": 300");
/* Two routes sharing the target 5090 (one entry, its down time kept by
 * address): numbers +15551... go to "a" (5090, then 5091), down for 60 s,
 * the others to "b" (5090, then 5092), down for 3 s. */
static const char shared_target_config[] = SMALL_CONFIG_HEAD
    " \"routes\": [{\"name\": \"a\", \"match\": {\"user_prefix\": \"+15551\"},"
    "  \"targets\": [\"127.0.0.1:5090\", \"127.0.0.1:5091\"], \"failover_ms\": 1000,"
    "  \"down_s\": 60},"
    " {\"name\": \"b\", \"targets\": [\"127.0.0.1:5090\", \"127.0.0.1:5092\"],"
    "  \"failover_ms\": 1000, \"down_s\": 3}]}";
/* Two routes sharing the target 5091: numbers +15551... go to "c" (5091,
 * then 5092), the others to "r" (5090, then 5091). */
static const char shared_second_target_config[] = SMALL_CONFIG_HEAD
    " \"routes\": [{\"name\": \"c\", \"match\": {\"user_prefix\": \"+15551\"},"
    "  \"targets\": [\"127.0.0.1:5091\", \"127.0.0.1:5092\"], \"failover_ms\": 1000},"
    " {\"name\": \"r\", \"targets\": [\"127.0.0.1:5090\", \"127.0.0.1:5091\"],"
    "  \"failover_ms\": 1000}]}";
/* 5090 takes 2 INVITEs a second, 5091 any */
static const char cps_config[] = SMALL_CONFIG_HEAD
    " \"routes\": [{\"name\": \"cps\", \"targets\": [{\"address\": \"127.0.0.1:5090\","
    "  \"max_cps\": 2}, \"127.0.0.1:5091\"]}]}";
/* two targets with limits: 2 calls at once on 5090, 1 on 5091 */
static const char limits_config[] = SMALL_CONFIG_HEAD
    " \"routes\": [{\"name\": \"lim\", \"targets\": [{\"address\": \"127.0.0.1:5090\","
    "  \"max_calls\": 2}, {\"address\": \"127.0.0.1:5091\", \"max_calls\": 1}]}]}";
/* One target that asks for credentials: the route has them (auth_config), has
 * them for another realm (auth_realm_config), or has none (test_config). */
#define AUTH_CONFIG(auth)                                                                          \
	SMALL_CONFIG_HEAD                                                                          \
	" \"routes\": [{\"name\": \"carrier\", \"target\": \"127.0.0.1:5090\","                    \
	" \"auth\": {\"username\": \"trunk7\", \"password\": \"s3cret\"" auth "}}]}"
static const char auth_config[] = AUTH_CONFIG("");
static const char auth_realm_config[] = AUTH_CONFIG(", \"realm\": \"other.example\"");
/* leg B's INVITE asks the callee for a session timer when the caller asks
 * for none */
static const char session_config[] =
    SMALL_CONFIG_HEAD " \"timers\": {\"session_expires_s\": 90},"
		      " \"routes\": [{\"name\": \"carrier\", \"target\": \"127.0.0.1:5090\"}]}";

/* callers must ask for 120 s or more */
static const char min_se_config[] =
    SMALL_CONFIG_HEAD " \"timers\": {\"min_se_s\": 120},"
		      " \"routes\": [{\"name\": \"carrier\", \"target\": \"127.0.0.1:5090\"}]}";

/* cred_route_key of route name at the target written text */
static uint32_t route_key(const char *name, const char *text)
{
	struct config_target t = {0};
	snprintf(t.text, sizeof(t.text), "%s", text);
	return cred_route_key(name, &t);
}

static const char *ctl_config = test_config; /* what open_ctl loads */
/* changes open_ctl makes to the loaded configuration, or NULL */
static void (*ctl_config_tweak)(struct config *c);
static uint64_t alice_now = 1000; /* when alice's datagrams arrive */

static void hook_send(void *arg, unsigned shard, const char *buf, size_t len,
		      const struct sockaddr *to, socklen_t tolen)
{
	(void)arg;
	(void)shard;
	assert_true(nsent < MAX_SENT);
	assert_true(len < sizeof(sent[nsent].buf));
	assert_int_equal(tolen, sizeof(struct sockaddr_in));
	memcpy(sent[nsent].buf, buf, len);
	sent[nsent].len = len;
	memcpy(&sent[nsent].to, to, sizeof(struct sockaddr_in));
	sent[nsent].after_install = false;
	nsent++;
	note_event('S');
}

static int hook_send_after_install(void *arg, unsigned shard, const char *buf, size_t len,
				   const struct sockaddr *to, socklen_t tolen)
{
	if (ordered_fails)
		return -ENOBUFS;
	if (ordered_too_big)
		return -EMSGSIZE;
	hook_send(arg, shard, buf, len, to, tolen);
	sent[nsent - 1].after_install = true;
	events[nevents - 1] = 'A';
	return 0;
}

static int hook_install(void *arg, unsigned shard, const struct shard_dialog *d,
			uint32_t session_expires_s)
{
	(void)arg;
	(void)shard;
	if (install_fails)
		return -ENOBUFS;
	last_install = *d;
	last_install_session_s = session_expires_s;
	if (ninstall < DIALOGS)
		installs[ninstall] = *d;
	ninstall++;
	note_event('I');
	return 0;
}

static int hook_release(void *arg, unsigned shard, uint32_t slot, uint32_t gen)
{
	(void)arg;
	(void)shard;
	(void)slot;
	(void)gen;
	nrelease++;
	return 0;
}

/* CDRs written, each parsed back (the hook only counts them when it is set). */
enum { MAX_CDRS = 4 };
static json_t *cdrs[MAX_CDRS];
static char cdr_lines[MAX_CDRS][4096]; /* as written, without the newline */
static unsigned ncdrs;

static void hook_cdr(void *arg, const char *line, size_t len)
{
	json_error_t err;
	(void)arg;
	assert_true(ncdrs < MAX_CDRS);
	assert_true(len > 2 && line[len - 1] == '\n');
	assert_null(memchr(line, '\n', len - 1));
	cdrs[ncdrs] = json_loadb(line, len - 1, JSON_REJECT_DUPLICATES, &err);
	if (!cdrs[ncdrs])
		fail_msg("CDR is not JSON (%s): %.*s", err.text, (int)len, line);
	assert_true(len - 1 < sizeof(cdr_lines[0]));
	memcpy(cdr_lines[ncdrs], line, len - 1);
	cdr_lines[ncdrs][len - 1] = '\0';
	ncdrs++;
}

static struct ctl_hooks hooks;
static char setups_path[64]; /* the records' file, or "" for memory only */

static int open_ctl(bool with_cdrs, bool ordered)
{
	char err[256];
	hooks = (struct ctl_hooks){NULL,
				   hook_send,
				   hook_install,
				   hook_release,
				   with_cdrs ? hook_cdr : NULL,
				   ordered ? hook_send_after_install : NULL};

	log_set_level(LOG_LVL_ERROR);
	if (config_load_string(&cfg, ctl_config, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	if (ctl_config_tweak)
		ctl_config_tweak(&cfg);
	assert_int_equal(policy_create(&pol, &cfg, err, sizeof(err)), 0);
	assert_int_equal(
	    ctl_open(&ctl, &cfg, pol, 1, DIALOGS, &hooks, setups_path[0] ? setups_path : NULL, 0),
	    0);
	nsent = ninstall = nrelease = ncdrs = nevents = 0;
	ordered_fails = install_fails = ordered_too_big = false;
	test_addr_in(&alice, "10.1.1.1", 5061);
	test_addr_in(&bob, "127.0.0.1", 5090);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_ERROR);
	return open_ctl(false, false);
}

static int setup_ordered(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_ERROR);
	return open_ctl(false, true);
}

static int setup_cdr(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_ERROR);
	return open_ctl(true, false);
}

/* A controller with CDRs on the configuration given as the test's state
 * (cmocka_unit_test_prestate_setup_teardown). */
static int setup_config(void **state)
{
	ctl_config = *state;
	return open_ctl(true, false);
}

static int teardown(void **state)
{
	(void)state;
	ctl_config = test_config;
	ctl_config_tweak = NULL;
	alice_now = 1000;
	if (ctl)
		ctl_close(ctl);
	ctl = NULL;
	policy_destroy(pol);
	config_free(&cfg);
	for (unsigned i = 0; i < ncdrs; i++)
		json_decref(cdrs[i]);
	ncdrs = 0;
	return 0;
}

/* Parses sent datagram i into out. */
static const struct sip_msg *sent_msg(unsigned i)
{
	assert_true(i < nsent);
	if (sip_parse(&out, sent[i].buf, sent[i].len, NULL) != 0)
		fail_msg("sent datagram %u does not parse:\n%.*s", i, (int)sent[i].len,
			 sent[i].buf);
	return &out;
}

static void from_alice(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(in, sizeof(in), fmt, ap);
	va_end(ap);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	ctl_on_datagram(ctl, 0, &m, (const struct sockaddr *)&alice, sizeof(alice), alice_now);
}

static void invite_from_alice(void)
{
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		   "Content-Length: 0\r\n\r\n");
}

/* alice CANCELs the INVITE of invite_from_alice. */
static void cancel_from_alice(void)
{
	from_alice("CANCEL sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 CANCEL\r\n"
		   "Content-Length: 0\r\n\r\n");
}

/* alice ACKs a non-2xx final to the INVITE of invite_from_alice. */
static void ack_from_alice(void)
{
	from_alice("ACK sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>;tag=x\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 ACK\r\n"
		   "Content-Length: 0\r\n\r\n");
}

/* An INVITE from alice with Call-ID and From tag numbered n. */
static void numbered_invite(int n)
{
	from_alice("INVITE sip:+1555%04d@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKn%d\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=t%d\r\n"
		   "To: <sip:+1555%04d@127.0.0.1>\r\n"
		   "Call-ID: n%d@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Content-Length: 0\r\n\r\n",
		   n, n, n, n, n);
}

/* The INVITE the controller sent to bob: index of it in sent[]. */
static unsigned invite_to_bob(void)
{
	for (unsigned i = 0; i < nsent; i++)
		if (sent_msg(i)->is_request && out.method_id == SIP_METHOD_INVITE)
			return i;
	fail_msg("no INVITE sent to bob");
	return 0;
}

/* A response from bob to the request sent[inv] (an INVITE, unless a test
 * answers a CANCEL or BYE), with status, To tag, extra header lines (with
 * a Contact line of their own, in place of bob's) and a body (NULL: none),
 * at time now. */
static void response_from_bob_body(unsigned inv, int status, const char *to_tag, const char *extra,
				   const char *body, uint64_t now)
{
	char branch[128], call_id[128], from_tag[128];
	const struct sip_msg *i = sent_msg(inv);
	snprintf(branch, sizeof(branch), "%.*s", i->vias[0].branch.len,
		 sent[inv].buf + i->vias[0].branch.off);
	snprintf(call_id, sizeof(call_id), "%.*s", i->call_id.len, sent[inv].buf + i->call_id.off);
	snprintf(from_tag, sizeof(from_tag), "%.*s", i->from.tag.len,
		 sent[inv].buf + i->from.tag.off);
	int n = snprintf(in, sizeof(in),
			 "SIP/2.0 %d %s\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s\r\n"
			 "From: <sip:alice@127.0.0.1>;tag=%s\r\n"
			 "To: <sip:+15551234@127.0.0.1>%s%s\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u %.*s\r\n"
			 "%s"
			 "%s"
			 "Content-Length: %zu\r\n\r\n%s",
			 status, sip_reason_phrase(status), branch, from_tag, to_tag ? ";tag=" : "",
			 to_tag ? to_tag : "", call_id, (unsigned)i->cseq.num,
			 (int)i->cseq.method.len, sent[inv].buf + i->cseq.method.off,
			 strstr(extra, "Contact:") ? "" : "Contact: <sip:bob@127.0.0.1:5090>\r\n",
			 extra, body ? strlen(body) : 0, body ? body : "");
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	ctl_on_datagram(ctl, 0, &m, (const struct sockaddr *)&bob, sizeof(bob), now);
}

static void response_from_bob_with(unsigned inv, int status, const char *to_tag, const char *extra,
				   uint64_t now)
{
	response_from_bob_body(inv, status, to_tag, extra, NULL, now);
}

static void response_from_bob_at(unsigned inv, int status, const char *to_tag, uint64_t now)
{
	response_from_bob_with(inv, status, to_tag, "", now);
}

/* The same at 1100. */
static void response_from_bob(unsigned inv, int status, const char *to_tag)
{
	response_from_bob_at(inv, status, to_tag, 1100);
}

/* The last request of method meth sent to bob (port 5090) from sent[from]
 * on, or -1. */
static int last_to_bob(unsigned from, enum sip_method meth)
{
	int found = -1;
	for (unsigned i = from; i < nsent; i++) {
		const struct sip_msg *x = sent_msg(i);
		if (x->is_request && x->method_id == meth && ntohs(sent[i].to.sin_port) == 5090)
			found = (int)i;
	}
	return found;
}

static void test_invite_reaches_bob_with_a_salted_branch(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	const struct sip_msg *i = sent_msg(inv);
	assert_int_equal(ntohs(sent[inv].to.sin_port), 5090);
	/* prefix, index, generation and 32 random bits: 9 + 24 characters */
	assert_int_equal(i->vias[0].branch.len, 33);
	assert_memory_equal(sent[inv].buf + i->vias[0].branch.off, "z9hG4bKsc", 9);
	/* topology hidden: nothing of alice's Call-ID or address goes to bob */
	assert_null(memmem(sent[inv].buf, sent[inv].len, "a1@10.1.1.1", 11));
	assert_null(memmem(sent[inv].buf, sent[inv].len, "10.1.1.1", 8));
}

/* alice's INVITE with Max-Forwards mf, Call-ID and tags ending in n. */
static void invite_with_max_forwards(int mf, int n)
{
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKmf%d\r\n"
		   "Max-Forwards: %d\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=mf%d\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: mf%d@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Content-Length: 0\r\n\r\n",
		   n, mf, n, n);
}

/* RFC 3261 16.3 item 3: only an INVITE with Max-Forwards 0 is refused (483,
 * counted in rejected_loop); 1 reaches leg B with 0 (16.6 item 3). */
static void test_max_forwards_one_reaches_leg_b(void **state)
{
	struct ctl_stats st;
	(void)state;

	invite_with_max_forwards(0, 1);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent_msg(0)->status, 483);
	assert_int_equal(ntohs(sent[0].to.sin_port), 5061);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_loop, 1);

	/* the same INVITE again: a stateless answer gives it the same To tag
	 * (RFC 3261 8.2.7); another INVITE gets another */
	invite_with_max_forwards(0, 1);
	invite_with_max_forwards(0, 3);
	assert_int_equal(nsent, 3);
	const struct sip_msg *first = sent_msg(0);
	char tag0[64];
	assert_true(first->to.tag.len > 0 && first->to.tag.len < sizeof(tag0));
	memcpy(tag0, sent[0].buf + first->to.tag.off, first->to.tag.len);
	size_t tag0_len = first->to.tag.len;
	const struct sip_msg *again = sent_msg(1);
	assert_true(sip_view_eq(sent[1].buf, again->to.tag, tag0, tag0_len));
	const struct sip_msg *other = sent_msg(2);
	assert_false(sip_view_eq(sent[2].buf, other->to.tag, tag0, tag0_len));

	invite_with_max_forwards(1, 2);
	unsigned inv = invite_to_bob();
	assert_int_equal(sent_msg(inv)->max_forwards, 0);
	assert_int_equal(ntohs(sent[inv].to.sin_port), 5090);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_loop, 3);
}

/* alice's INVITE with a Timestamp line of value ts. */
static void invite_with_timestamp(const char *ts)
{
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKts1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=ts1\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Timestamp: %s\r\n"
		   "Call-ID: ts1@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Content-Length: 0\r\n\r\n",
		   ts);
}

/* RFC 3261 8.2.6.1: the 100 (Trying) to alice's INVITE carries its Timestamp,
 * and the 100 to a retransmission of it that retransmission's; the INVITE
 * to bob carries it on as any other line, and his 180 reaches alice without
 * one added. */
static void test_trying_carries_the_timestamp(void **state)
{
	(void)state;

	invite_with_timestamp("1.5");
	assert_int_equal(nsent, 2);
	const struct sip_msg *t = sent_msg(0);
	assert_int_equal(t->status, 100);
	assert_int_equal(ntohs(sent[0].to.sin_port), 5061);
	const struct sip_hdr_line *ts = sip_find_hdr(t, SIP_HDR_TIMESTAMP);
	assert_non_null(ts);
	assert_true(sip_view_eq(sent[0].buf, ts->value, "1.5", 3));
	unsigned inv = invite_to_bob();
	assert_non_null(sip_find_hdr(sent_msg(inv), SIP_HDR_TIMESTAMP));

	invite_with_timestamp("2.75 0.1"); /* the retransmission */
	assert_int_equal(nsent, 3);
	t = sent_msg(2);
	assert_int_equal(t->status, 100);
	ts = sip_find_hdr(t, SIP_HDR_TIMESTAMP);
	assert_non_null(ts);
	assert_true(sip_view_eq(sent[2].buf, ts->value, "2.75 0.1", 8));

	response_from_bob(inv, 180, "r1");
	t = sent_msg(nsent - 1);
	assert_int_equal(t->status, 180);
	assert_null(sip_find_hdr(t, SIP_HDR_TIMESTAMP));
}

/* An INVITE from alice of exactly len bytes: short headers (Call-ID, tag and
 * branch ending in call, a digit), the rest SDP. */
static void invite_of_size(size_t len, char call)
{
	static const char head[] = "INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKbig0\r\n"
				   "Max-Forwards: 70\r\n"
				   "From: <sip:a@10.1.1.1>;tag=t0\r\n"
				   "To: <sip:+15551234@127.0.0.1>\r\n"
				   "Call-ID: c0\r\n"
				   "CSeq: 1 INVITE\r\n"
				   "Content-Type: application/sdp\r\n"
				   "Content-Length: 0000\r\n\r\n";
	size_t hlen = sizeof(head) - 1, body = len - hlen;
	assert_true(len > hlen && len <= sizeof(in) && body <= 9999);
	memcpy(in, head, hlen);
	char digits[5];
	snprintf(digits, sizeof(digits), "%04zu", body);
	memcpy(strstr(in, "Length: ") + 8, digits, 4);
	strstr(in, "big0")[3] = call;
	strstr(in, "tag=t0")[5] = call;
	strstr(in, "ID: c0")[5] = call;
	for (size_t i = 0; i < body; i++) /* lines of 64 bytes, as an SDP's */
		in[hlen + i] = i % 64 == 63 ? '\n' : (i % 64 == 62 ? '\r' : 'a');
	assert_int_equal(sip_parse(&m, in, len, NULL), 0);
	ctl_on_datagram(ctl, 0, &m, (const struct sockaddr *)&alice, sizeof(alice), alice_now);
}

/* An INVITE of 7 KB (a WebRTC gateway's offer: ICE candidates, video) was
 * answered 513: leg B's copy had 4096 bytes of room. Every INVITE a worker
 * takes (up to 8192 bytes) now goes to leg B when its copy fits; the copy of
 * an 8192-byte INVITE with short Call-ID, tag and branch does not (leg B's
 * are longer), and is answered 513 and counted. */
static void test_large_invite_reaches_bob_and_an_oversized_copy_gets_513(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_of_size(7000, '1');
	unsigned inv = invite_to_bob();
	const struct sip_msg *i = sent_msg(inv);
	assert_int_equal(i->content_length, 7000 - (strstr(in, "\r\n\r\n") + 4 - in));
	assert_memory_equal(sent[inv].buf + i->body.off, strstr(in, "\r\n\r\n") + 4, i->body.len);

	nsent = 0;
	invite_of_size(8192, '2');
	assert_int_equal(nsent, 1);
	assert_int_equal(sent_msg(0)->status, 513);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_too_large, 1);
	assert_int_equal(st.rejected_capacity, 0);
	assert_int_equal(st.calls_active, 1); /* the first call only: no record held */
}

/* Leg B's INVITE is a datagram sipshard sends: with tx_buffer_size 1500 (an
 * operator keeping under the path MTU) a copy larger than that is answered
 * 513 and counted, as every rewrite that does not fit (CONFIG.md). It went
 * out at up to 8192 bytes whatever the key said. */
static void test_invite_copy_larger_than_tx_buffer_size_gets_513(void **state)
{
	struct ctl_stats st;
	(void)state;

	cfg.tx_buffer_size = 1500;
	invite_of_size(1000, '1');
	unsigned inv = invite_to_bob();
	assert_true(sent[inv].len <= 1500);
	nsent = 0;
	invite_of_size(1450, '2');
	assert_int_equal(nsent, 1);
	assert_int_equal(sent_msg(0)->status, 513);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_too_large, 1);
}

/* A string of n bytes of c (n < 400), for the fields below. */
static const char *filler(char c, size_t n)
{
	static char s[2][400];
	static unsigned turn;
	char *p = s[turn++ % 2];
	assert_true(n < sizeof(s[0]));
	memset(p, c, n);
	p[n] = '\0';
	return p;
}

/* Four Record-Route entries as an IMS core writes them, about 150 bytes
 * each: 611 bytes as a Route line, past SESSION_ROUTE_SET_MAX. side names
 * the proxies. */
static const char *ims_record_route(const char *side)
{
	static char rr[1024];
	size_t at = 0;
	for (int i = 0; i < 4; i++)
		at += (size_t)snprintf(rr + at, sizeof(rr) - at,
				       "%s<sip:%s%d.ims.mnc001.mcc001.3gppnetwork.org:6060;"
				       "transport=udp;lr;ftag=ffffffffffffffff;did=4a1.c2f3b1e2;"
				       "nat=yes;vsf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA>",
				       i ? ", " : "", side, i);
	return rr;
}

/* An INVITE from alice (Call-ID and tag ending in n) with the From and To
 * URIs, Contact and extra lines given. */
static void invite_with_fields(int n, const char *from, const char *to, const char *contact,
			       const char *extra)
{
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKlong%d\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <%s>;tag=long%d\r\n"
		   "To: <%s>\r\n"
		   "Call-ID: long%d@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Contact: <%s>\r\n"
		   "%s"
		   "Content-Length: 0\r\n\r\n",
		   n, from, n, to, n, contact, extra);
}

/* The caller's Contact, From or To URI longer than a dialog's record keeps
 * (SESSION_URI_MAX), or a Record-Route set longer than its route set
 * (SESSION_ROUTE_SET_MAX): the call went on with the field left out, and
 * its requests went malformed or past the caller's proxies (the callee's
 * INFO reached alice as "INFO  SIP/2.0", its BYE with "To: <>", and no
 * Route at all). Refused before leg B is tried, as a Call-ID or tag too
 * long is: 400 with a Warning naming the field, rejected_too_large. */
static void test_invite_whose_fields_would_not_fit_the_record_gets_400(void **state)
{
	struct ctl_stats st;
	char long_uri[320], rr_line[1100];
	(void)state;
	static const char *const fields[] = {"Contact", "From URI", "To URI", "Record-Route"};

	snprintf(rr_line, sizeof(rr_line), "Record-Route: %s\r\n", ims_record_route("pcscf"));
	for (int i = 0; i < 4; i++) {
		snprintf(long_uri, sizeof(long_uri), "sip:%s@10.1.1.1;x-long=%s",
			 i == 2 ? "+15551234" : "alice", filler('g', 260));
		nsent = 0;
		invite_with_fields(i, i == 1 ? long_uri : "sip:alice@10.1.1.1",
				   i == 2 ? long_uri : "sip:+15551234@127.0.0.1",
				   i == 0 ? long_uri : "sip:alice@10.1.1.1:5061",
				   i == 3 ? rr_line : "");
		if (nsent != 1 || sent_msg(0)->status != 400)
			fail_msg("%s too long: %u datagrams, the first %.*s", fields[i], nsent,
				 (int)(nsent ? strcspn(sent[0].buf, "\r") : 0), sent[0].buf);
		assert_int_equal(ntohs(sent[0].to.sin_port), 5061);
		char warning[96];
		snprintf(warning, sizeof(warning), "Warning: 399 sipshard \"%s too long\"\r\n",
			 fields[i]);
		assert_non_null(memmem(sent[0].buf, sent[0].len, warning, strlen(warning)));
	}
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_too_large, 4);
	assert_int_equal(st.calls_active, 0);
	assert_int_equal(ninstall, 0);

	/* as long as the record keeps: the call goes on (255 bytes of URI,
	 * three such Record-Route entries) */
	snprintf(long_uri, sizeof(long_uri), "sip:alice@10.1.1.1:5061;x=%s", filler('g', 229));
	assert_int_equal(strlen(long_uri), SESSION_URI_MAX - 1);
	snprintf(rr_line, sizeof(rr_line), "Record-Route: %.*s\r\n",
		 (int)(strrchr(ims_record_route("pcscf"), ',') - ims_record_route("pcscf")),
		 ims_record_route("pcscf"));
	nsent = 0;
	invite_with_fields(9, "sip:alice@10.1.1.1", "sip:+15551234@127.0.0.1", long_uri, rr_line);
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 200, "btag");
	assert_int_equal(ninstall, 1);
	const struct sip_session *a = &last_install.legs[SHARD_LEG_A];
	assert_string_equal(a->remote_target, long_uri);
	assert_true(a->route_set_len > 400);
}

/* Of sent[from] on: the index of the response of status to alice (port
 * 5061), or -1. */
static int response_to_alice(unsigned from, int status)
{
	for (unsigned i = from; i < nsent; i++)
		if (!sent_msg(i)->is_request && out.status == status &&
		    ntohs(sent[i].to.sin_port) == 5061)
			return (int)i;
	return -1;
}

/* The callee's 2xx with a Contact longer than a dialog's record keeps
 * (SESSION_URI_MAX), or a Record-Route set longer than its route set
 * (SESSION_ROUTE_SET_MAX): the call was answered with the field left out,
 * leg B's ACK went to the INVITE's Request-URI and every request after it
 * too, or without any Route, past the callee's proxies. The call ends as
 * for a 2xx it does not take: ACK and BYE to bob, not relayed; alice gets
 * 502 naming the field, counted (answers_too_large), nothing installed. */
static void test_callee_2xx_that_would_not_fit_the_record_ends_the_call(void **state)
{
	struct ctl_stats st;
	char extra[1100];
	(void)state;

	for (int i = 0; i < 2; i++) {
		if (i == 0)
			snprintf(extra, sizeof(extra),
				 "Contact: <sip:bob@127.0.0.1:5090;x-gruu=%s>\r\n",
				 filler('g', 260));
		else
			snprintf(extra, sizeof(extra), "Record-Route: %s\r\n",
				 ims_record_route("scscf"));
		nsent = ninstall = 0;
		invite_with_fields(20 + i, "sip:alice@10.1.1.1", "sip:+15551234@127.0.0.1",
				   "sip:alice@10.1.1.1:5061", "");
		unsigned inv = invite_to_bob();
		unsigned before = nsent;
		response_from_bob_with(inv, 200, "btag", extra, 1100);
		if (ninstall != 0 || response_to_alice(before, 200) >= 0)
			fail_msg("case %d: the 2xx was taken (%u install(s))", i, ninstall);
		assert_true(last_to_bob(before, SIP_METHOD_ACK) >= 0);
		assert_true(last_to_bob(before, SIP_METHOD_BYE) >= 0);
		int r = response_to_alice(before, 502);
		assert_true(r >= 0);
		assert_memory_equal(sent[r].buf, "SIP/2.0 502 Bad Gateway\r\n", 25);
		const char *w = i ? "Warning: 399 sipshard \"callee's Record-Route too long\"\r\n"
				  : "Warning: 399 sipshard \"callee's Contact too long\"\r\n";
		assert_non_null(memmem(sent[r].buf, sent[r].len, w, strlen(w)));
	}
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.answers_too_large, 2);
	assert_int_equal(st.stale_answers_ended, 2);
	assert_int_equal(st.calls_failed, 2);
	assert_int_equal(st.calls_answered, 0);
}

/* The same for the reliable 183 that makes the early dialog (RFC 3262): it
 * was installed with the route set left out and relayed, the caller's
 * PRACK going past the callee's proxies. Not relayed now: leg B's INVITE is
 * CANCELled (a provisional came, RFC 3261 9.1), alice gets 502, the 487 is
 * ACKed. An unreliable 180 with such a Contact is relayed, not installed:
 * the 2xx decides (here, a 2xx that fits). */
static void test_callee_reliable_18x_that_would_not_fit_the_record_ends_the_call(void **state)
{
	struct ctl_stats st;
	char extra[1200];
	(void)state;

	snprintf(extra, sizeof(extra), "Require: 100rel\r\nRSeq: 1\r\nRecord-Route: %s\r\n",
		 ims_record_route("scscf"));
	invite_from_alice();
	unsigned inv = invite_to_bob();
	unsigned before = nsent;
	response_from_bob_with(inv, 183, "btag", extra, 1100);
	assert_int_equal(ninstall, 0);
	assert_int_equal(response_to_alice(before, 183), -1);
	int cancel = last_to_bob(before, SIP_METHOD_CANCEL);
	assert_true(cancel >= 0);
	assert_true(sip_view_eq(sent[cancel].buf, sent_msg((unsigned)cancel)->vias[0].branch,
				sent[inv].buf + sent_msg(inv)->vias[0].branch.off,
				sent_msg(inv)->vias[0].branch.len));
	assert_true(response_to_alice(before, 502) >= 0);
	before = nsent;
	response_from_bob_at(inv, 487, "btag", 1200);
	assert_true(last_to_bob(before, SIP_METHOD_ACK) >= 0);
	assert_int_equal(response_to_alice(before, 487), -1);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.answers_too_large, 1);
	assert_int_equal(st.calls_failed, 1);

	/* an unreliable 180 with a Contact too long: relayed, not installed */
	snprintf(extra, sizeof(extra), "Contact: <sip:bob@127.0.0.1:5090;x-gruu=%s>\r\n",
		 filler('g', 260));
	nsent = 0;
	invite_with_fields(30, "sip:alice@10.1.1.1", "sip:+15551234@127.0.0.1",
			   "sip:alice@10.1.1.1:5061", "");
	inv = invite_to_bob();
	response_from_bob_with(inv, 180, "btag2", extra, 1300);
	assert_true(response_to_alice(0, 180) >= 0);
	assert_int_equal(ninstall, 0);
	response_from_bob_at(inv, 200, "btag2", 1400);
	assert_int_equal(ninstall, 1);
	assert_string_equal(last_install.legs[SHARD_LEG_B].remote_target, "sip:bob@127.0.0.1:5090");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.answers_too_large, 1);
	assert_int_equal(st.calls_answered, 1);
}

/* A fork other than the first whose reliable 183 has a Record-Route set
 * the record cannot keep: its early dialog of its own was installed with
 * the route set left out. Refused one now (forks_refused): it rings in the
 * first fork's, its 183 PRACKed by sipshard, not relayed. */
static void test_fork_18x_that_would_not_fit_the_record_gets_no_early_dialog(void **state)
{
	struct ctl_stats st;
	char extra[1200];
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob_with(inv, 183, "fork1", "Require: 100rel\r\nRSeq: 1\r\n", 1100);
	assert_int_equal(ninstall, 1);
	snprintf(extra, sizeof(extra), "Require: 100rel\r\nRSeq: 4\r\nRecord-Route: %s\r\n",
		 ims_record_route("scscf"));
	unsigned before = nsent;
	response_from_bob_with(inv, 183, "fork2", extra, 1200);
	assert_int_equal(ninstall, 1);
	assert_true(last_to_bob(before, SIP_METHOD_PRACK) >= 0);
	assert_int_equal(response_to_alice(before, 183), -1);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.forks_refused, 1);
	assert_int_equal(st.fork_dialogs, 0);
}

/* Found by fuzz_controller: the final's retransmission was ACKed with an ACK
 * built from the buffer that by then held the final sent to alice (empty
 * Request-URI, alice's Via and Call-ID sent to bob). */
static void test_retransmitted_final_gets_the_same_ack(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	unsigned before = nsent;
	response_from_bob(inv, 486, "btag");
	/* an ACK to bob, then the 486 to alice */
	assert_int_equal(nsent, before + 2);
	const struct sip_msg *ack = sent_msg(before);
	assert_int_equal(ack->method_id, SIP_METHOD_ACK);
	assert_int_equal(ntohs(sent[before].to.sin_port), 5090);
	char first_ack[4096];
	size_t first_len = sent[before].len;
	memcpy(first_ack, sent[before].buf, first_len);
	assert_int_equal(sent_msg(before + 1)->status, 486);
	assert_int_equal(ntohs(sent[before + 1].to.sin_port), 5061);

	response_from_bob(inv, 486, "btag");
	assert_int_equal(nsent, before + 3);
	assert_int_equal(sent[before + 2].len, first_len);
	assert_memory_equal(sent[before + 2].buf, first_ack, first_len);
	assert_int_equal(ntohs(sent[before + 2].to.sin_port), 5090);
	assert_null(memmem(sent[before + 2].buf, sent[before + 2].len, "a1@10.1.1.1", 11));
}

/* Leg B's INVITE client transaction ACKs each retransmission of the
 * callee's non-2xx final for Timer D, 32 s at least over UDP (RFC 3261
 * 17.1.1.2): our ACK may be lost after alice ACKed her copy of the final and
 * the record was freed. That retransmission was dropped as unknown, and the
 * callee resent its final unACKed until its Timer H. A 2xx of a record gone
 * is not ACKed so (nor ended): it is an answered call's, the worker's. */
static void test_final_retransmitted_after_the_record_left_is_acked(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	unsigned before = nsent;
	response_from_bob(inv, 486, "btag");
	assert_int_equal(nsent, before + 2);
	char first_ack[DATAGRAM_ROOM];
	size_t first_len = sent[before].len;
	memcpy(first_ack, sent[before].buf, first_len);
	ack_from_alice(); /* the record leaves */

	response_from_bob(inv, 486, "btag");
	assert_int_equal(nsent, before + 3);
	const struct sip_msg *ack = sent_msg(before + 2);
	assert_int_equal(ack->method_id, SIP_METHOD_ACK);
	assert_int_equal(ntohs(sent[before + 2].to.sin_port), 5090);
	/* the same transaction: branch, Call-ID, tags and CSeq of the first ACK */
	struct sip_msg first;
	assert_int_equal(sip_parse(&first, first_ack, first_len, NULL), 0);
	assert_true(sip_view_eq(sent[before + 2].buf, ack->vias[0].branch,
				first_ack + first.vias[0].branch.off, first.vias[0].branch.len));
	assert_true(sip_view_eq(sent[before + 2].buf, ack->call_id, first_ack + first.call_id.off,
				first.call_id.len));
	assert_true(sip_view_eq(sent[before + 2].buf, ack->to.tag, "btag", 4));
	assert_int_equal(ack->cseq.num, first.cseq.num);
	assert_int_equal(ack->cseq.method_id, SIP_METHOD_ACK);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_finals_acked, 1);
	assert_int_equal(st.dropped_unknown_response, 0);

	/* a response whose branch is not one of ours, or a 2xx: nothing */
	response_from_bob(inv, 200, "btag");
	assert_int_equal(nsent, before + 3);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.dropped_unknown_response, 1);
	/* nor the final from an address that is no route target: the ACK
	 * would go where the sender of a forged one chose */
	in_port_t port = bob.sin_port;
	bob.sin_port = htons(6666);
	response_from_bob(inv, 486, "btag");
	bob.sin_port = port;
	assert_int_equal(nsent, before + 3);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.dropped_unknown_response, 2);
	assert_int_equal(st.stale_finals_acked, 1);
}

/* Found by fuzz_controller: an early dialog that the worker ended during set-up
 * (a BYE from the caller, or expiry) was released again when the set-up
 * failed, and its slot and call-limit place were returned twice. */
static void test_early_dialog_ended_during_setup(void **state)
{
	struct ctl_stats st;
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "btag");
	assert_int_equal(ninstall, 1);
	/* the worker ends the early dialog and reports it */
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLER);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 0);

	/* bob ends the INVITE: no release for a dialog the worker freed */
	response_from_bob(inv, 487, "btag");
	assert_int_equal(nrelease, 0);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 0);
	ctl_on_tick(ctl, 1000000);

	/* the call limit (4) holds exactly its places again */
	for (int i = 0; i < 4; i++)
		assert_int_equal(policy_call_admit(pol), 0);
	assert_int_not_equal(policy_call_admit(pol), 0);
}

/*
 * A response from the call's own target whose branch has the record's
 * index and generation but a random part none of our INVITEs had (a broken
 * or hostile peer; make_branch): no target the call left. A 2xx so was
 * ACKed and ended with a BYE in the live call's own dialog, leaving the
 * caller's side up, and a 503 with Retry-After took the target down for
 * what it asked. Both are counted drops now, and the call goes on.
 */
static void test_response_with_a_forged_branch_is_no_left_target(void **state)
{
	struct ctl_stats st0, st;
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "btag");
	ctl_get_stats(ctl, &st0);
	/* the last hex digit of the branch changed */
	const struct sip_msg *i = sent_msg(inv);
	char *last = (char *)sent[inv].buf + i->vias[0].branch.off + i->vias[0].branch.len - 1;
	char real = *last;
	*last = real == '0' ? '1' : '0';
	unsigned before = nsent;
	response_from_bob(inv, 200, "btag");
	assert_int_equal(last_to_bob(before, SIP_METHOD_BYE), -1);
	assert_int_equal(last_to_bob(before, SIP_METHOD_ACK), -1);
	/* a non-2xx so is ACKed (it may be an earlier INVITE's there, sent
	 * again), but takes the target down for nothing */
	response_from_bob_with(inv, 503, "btag", "Retry-After: 300\r\n", 1100);
	*last = real;
	assert_true(last_to_bob(before, SIP_METHOD_ACK) >= 0);
	ctl_get_stats(ctl, &st);
	assert_int_equal(last_to_bob(before, SIP_METHOD_BYE), -1);
	assert_int_equal(st.stale_answers_ended, st0.stale_answers_ended);
	assert_int_equal(st.stale_finals_acked, st0.stale_finals_acked + 1);
	assert_int_equal(st.targets_retry_after, st0.targets_retry_after);
	assert_int_equal(st.dropped_unknown_response, st0.dropped_unknown_response + 1);
	/* the real 200 answers the call */
	response_from_bob(inv, 200, "btag");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_answered, 1);
}

/* The callee's 486 sent again while the call waits for the caller's ACK
 * (our ACK was lost): ACKed again with the ACK kept, and counted as the
 * other finals ACKed here are; it moved no counter. */
static void test_final_sent_again_before_the_callers_ack_counted(void **state)
{
	struct ctl_stats st0, st;
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 486, "btag");
	ctl_get_stats(ctl, &st0);
	unsigned before = nsent;
	response_from_bob(inv, 486, "btag");
	assert_true(last_to_bob(before, SIP_METHOD_ACK) >= 0);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_finals_acked, st0.stale_finals_acked + 1);
}

/* A 2xx without a To tag (an RFC 2543 callee; RFC 3261 12.1.2 takes the
 * remote tag as empty) once the call's own early dialog ended, or once the
 * call has its final: ACKed and ended with a BYE, as a tagged one is. It
 * reached the caller as an answer with no dialog behind it, or was dropped
 * with no counter. */
static void test_2xx_without_to_tag_after_the_end_is_ended(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "btag");
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLER);
	unsigned before = nsent;
	response_from_bob(inv, 200, NULL);
	assert_int_equal(ninstall, 1);
	for (unsigned i = before; i < nsent; i++)
		if (ntohs(sent[i].to.sin_port) == 5061 && sent_msg(i)->status != 487)
			fail_msg("a tagless 2xx after the early dialog ended: %.40s to the caller",
				 sent[i].buf);
	assert_true(last_to_bob(before, SIP_METHOD_ACK) >= 0);
	assert_true(last_to_bob(before, SIP_METHOD_BYE) >= 0);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, 1);
	assert_int_equal(st.calls_answered, 0);

	/* the call has its final (487, above): another tagless 2xx, from another
	 * callee's transaction, gets its ACK and BYE too, counted */
	before = nsent;
	response_from_bob(inv, 200, NULL);
	assert_true(last_to_bob(before, SIP_METHOD_ACK) >= 0);
}

/*
 * The callee's 2xx after the caller ended the call's early dialog with a BYE
 * (RFC 3261 15; the worker freed it): the caller holds no dialog under that
 * tag to confirm, so the 2xx is not relayed; as the UAC side of leg B
 * sipshard ACKs it and ends it with a BYE (13.2.2.4), as for another fork's,
 * and, no other fork ringing, the caller's INVITE gets the 487 its callee
 * would have sent for that BYE (15.1.2), counted as the callee's would be.
 * The slot (maybe another call's by now) is left alone. The 2xx went to the
 * caller with no dialog behind it ("relayed, no dialog").
 */
static void test_2xx_after_early_dialog_ended_installs_nothing(void **state)
{
	struct ctl_stats st0, st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "btag");
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLER);
	ctl_get_stats(ctl, &st0);
	unsigned before = nsent;
	response_from_bob(inv, 200, "btag");
	assert_int_equal(ninstall, 1);
	bool ack = false, bye = false;
	int to_alice = 0;
	for (unsigned i = before; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (ntohs(sent[i].to.sin_port) == 5061) {
			if (s->is_request || s->status != 487)
				fail_msg(
				    "the 2xx after the caller's early BYE: %.60s to the caller",
				    sent[i].buf);
			to_alice++;
		} else if (s->is_request && s->method_id == SIP_METHOD_ACK &&
			   sip_view_eq(sent[i].buf, s->to.tag, "btag", 4)) {
			ack = true;
		} else if (s->is_request && s->method_id == SIP_METHOD_BYE &&
			   sip_view_eq(sent[i].buf, s->to.tag, "btag", 4)) {
			bye = true;
		}
	}
	if (!ack || !bye || to_alice != 1)
		fail_msg("2xx after the early dialog ended: ACK %d, BYE %d, 487s to the caller %d",
			 ack, bye, to_alice);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, st0.stale_answers_ended + 1);
	assert_int_equal(st.calls_answered, st0.calls_answered);
	assert_int_equal(st.calls_failed, st0.calls_failed + 1);
	assert_int_equal(st.calls_active, 0);

	/* bob sends his 2xx again (the ACK crossed it): the ACK alone, nothing
	 * to alice, not counted again */
	before = nsent;
	response_from_bob(inv, 200, "btag");
	for (unsigned i = before; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (ntohs(sent[i].to.sin_port) == 5061 || !s->is_request ||
		    s->method_id != SIP_METHOD_ACK)
			fail_msg("the 2xx sent again: %.60s", sent[i].buf);
	}
	assert_int_equal(nsent, before + 1);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, st0.stale_answers_ended + 1);
	assert_int_equal(ninstall, 1);
}

/* README.md's invariant 7: the 2xx that lets the caller use a dialog leaves
 * through the worker after the install, so that no crash in between can lose
 * a call the caller thinks is up; so do its retransmissions. Before that
 * change the 2xx went straight out and the install could still be in the
 * worker's ring when the process died. Provisionals go straight out: an
 * early dialog whose install did not get through is pushed again on the
 * next tick (test_early_install_retried_on_tick). */
static void test_answer_leaves_after_its_install(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	assert_string_equal(events, "SS"); /* 100 to alice, INVITE to bob */
	response_from_bob(inv, 180, NULL); /* no To tag: no dialog yet */
	assert_string_equal(events, "SSS");
	response_from_bob(inv, 180, "btag"); /* early dialog, 180 at once */
	assert_string_equal(events, "SSSIS");
	assert_false(sent[nsent - 1].after_install);
	response_from_bob(inv, 200, "btag");
	response_from_bob(inv, 200, "btag"); /* a retransmission */
	assert_string_equal(events, "SSSISIAA");
	assert_int_equal(sent_msg(nsent - 2)->status, 200);
	assert_int_equal(ntohs(sent[nsent - 2].to.sin_port), 5061);
	assert_true(sent[nsent - 2].after_install && sent[nsent - 1].after_install);
	assert_int_equal(last_install.state, SHARD_DLG_CONFIRMED);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.answers_deferred, 0);
}

/* RFC 3261 12.1.1: the caller's Record-Route comes back in the responses
 * that set its dialog up (the 18x with a tag and the 2xx), in order, so that
 * the proxies that record-routed stay on the caller's route set; they are the
 * caller's own topology, and never reach bob. */
static void test_caller_record_route_in_its_dialog_responses(void **state)
{
	(void)state;
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.9:5070;branch=z9hG4bKedge\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 69\r\n"
		   "Record-Route: <sip:10.1.1.9:5070;lr>\r\n"
		   "Record-Route: <sip:10.1.1.8;lr>, <sip:10.1.1.7;lr>\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		   "Content-Length: 0\r\n\r\n");
	unsigned inv = invite_to_bob();
	assert_null(memmem(sent[inv].buf, sent[inv].len, "10.1.1.", 7));
	static const int statuses[] = {180, 200};
	for (unsigned k = 0; k < 2; k++) {
		response_from_bob(inv, statuses[k], "btag");
		const struct sip_msg *r = sent_msg(nsent - 1);
		assert_int_equal(r->status, statuses[k]);
		assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);
		assert_int_equal(r->nrecord_routes, 3);
		assert_true(
		    sip_view_eq(r->buf, r->record_routes[0].uri.whole, "sip:10.1.1.9:5070;lr", 20));
		assert_true(
		    sip_view_eq(r->buf, r->record_routes[2].uri.whole, "sip:10.1.1.7;lr", 15));
	}
}

/* RFC 4028: the session interval of the callee's 2xx goes with the install
 * that confirms the call (the worker starts the timer from it); an early
 * dialog's install, whose 18x may name one too, starts none. */
static void test_install_carries_session_interval(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob_with(inv, 180, "btag", "Session-Expires: 600\r\n", 1100);
	assert_int_equal(ninstall, 1);
	assert_int_equal(last_install_session_s, 0);
	response_from_bob_with(inv, 200, "btag", "Session-Expires: 1800;refresher=uac\r\n", 1100);
	assert_int_equal(ninstall, 2);
	assert_int_equal(last_install.state, SHARD_DLG_CONFIRMED);
	assert_int_equal(last_install_session_s, 1800);
	/* the caller's INVITE CSeq (1), so that the worker tells the ACK of its
	 * 2xx from that of an answer it gives a re-INVITE itself */
	assert_int_equal(last_install.legs[SHARD_LEG_A].invite_cseq_tag, session_cseq_tag(1));
	assert_int_equal(last_install.legs[SHARD_LEG_B].invite_cseq_tag, 0);
	/* and the 2xx goes to the caller with it: the callers' timers agree */
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
	assert_int_equal(sent_msg(nsent - 1)->session_expires_secs, 1800);

	/* a 2xx without one: no timer */
	last_install_session_s = 99;
	numbered_invite(2);
	inv = nsent - 1;
	assert_int_equal(sent_msg(inv)->method_id, SIP_METHOD_INVITE);
	response_from_bob(inv, 200, "btag2");
	assert_int_equal(last_install.state, SHARD_DLG_CONFIRMED);
	assert_int_equal(last_install_session_s, 0);
	assert_int_equal(sent_msg(nsent - 1)->session_expires.len, 0);

	/* a caller that asks for one and can refresh (Supported: timer), a
	 * callee that names none: the caller is told its interval, with
	 * refresher=uac and Require: timer (RFC 4028 section 8.2), and the
	 * worker times it */
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKst3\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=st3\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: st3@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Supported: timer\r\n"
		   "Session-Expires: 300\r\n"
		   "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		   "Content-Length: 0\r\n\r\n");
	inv = nsent - 1;
	assert_int_equal(sent_msg(inv)->session_expires_secs, 300); /* passed on to bob */
	response_from_bob(inv, 200, "btag3");
	assert_int_equal(last_install_session_s, 300);
	const struct sip_msg *ok = sent_msg(nsent - 1);
	assert_int_equal(ok->status, 200);
	assert_true(sip_view_eq(sent[nsent - 1].buf, ok->session_expires, "300;refresher=uac", 17));
	assert_true(sip_has_option_tag(ok, SIP_HDR_REQUIRE, "timer"));
	assert_int_equal(ok->ncontacts, 1);
}

/* The 18x went to the caller while the worker's ring refused its install:
 * the caller holds an early dialog no worker does, and its PRACK would get
 * 481. The next tick pushes the install again, once. */
static void test_early_install_retried_on_tick(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	install_fails = true;
	response_from_bob(inv, 180, "btag");
	assert_int_equal(ninstall, 0);
	assert_int_equal(sent_msg(nsent - 1)->status, 180);
	ctl_on_tick(ctl, 1200); /* still full: nothing changes */
	assert_int_equal(ninstall, 0);

	install_fails = false;
	ctl_on_tick(ctl, 1300);
	assert_int_equal(ninstall, 1);
	assert_int_equal(last_install.state, SHARD_DLG_EARLY);
	assert_int_equal(last_install.legs[SHARD_LEG_B].remote_tag_len, 4);
	assert_memory_equal(last_install.legs[SHARD_LEG_B].remote_tag, "btag", 4);
	ctl_on_tick(ctl, 1400);
	assert_int_equal(ninstall, 1);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.early_installs_retried, 1);

	/* a provisional without To tag makes no early dialog: nothing to retry */
	numbered_invite(2);
	install_fails = true;
	response_from_bob(invite_to_bob(), 180, NULL);
	install_fails = false;
	ctl_on_tick(ctl, 1500);
	assert_int_equal(ninstall, 1);
}

/* The first fork's 18x went to the caller while the worker's ring refused
 * its install, and another fork rings before the next tick pushes it: that
 * fork's provisionals go in the first fork's early dialog as a refused
 * fork's do (its reliable one PRACKed here), and the install pushed again is
 * still the first fork's. Before, the other fork's 18x took the first fork's
 * place in the record: the caller's PRACK of the first fork's RSeq went to
 * the other fork (481) and the early dialog pushed was the other fork's. */
static void test_other_fork_while_the_first_forks_install_waits(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	install_fails = true;
	response_from_bob_with(inv, 183, "fork1", "Require: 100rel\r\nRSeq: 1\r\n", 1100);
	assert_int_equal(ninstall, 0);
	assert_int_equal(sent_msg(nsent - 1)->status, 183);

	install_fails = false; /* room again before the tick */
	unsigned before = nsent;
	response_from_bob_with(inv, 183, "fork2", "Require: 100rel\r\nRSeq: 7\r\n", 1150);
	assert_int_equal(ninstall, 0);
	assert_int_equal(nsent, before + 1);
	assert_int_equal(sent_msg(nsent - 1)->method_id, SIP_METHOD_PRACK);
	assert_int_equal(out.rack.rseq, 7);
	assert_true(sip_view_eq(sent[nsent - 1].buf, out.to.tag, "fork2", 5));
	/* an unreliable one goes to the caller in the first fork's dialog */
	response_from_bob(inv, 180, "fork3");
	assert_int_equal(ninstall, 0);
	assert_int_equal(sent_msg(nsent - 1)->status, 180);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);

	ctl_on_tick(ctl, 1200);
	assert_int_equal(ninstall, 1);
	assert_int_equal(last_install.legs[SHARD_LEG_B].remote_tag_len, 5);
	assert_memory_equal(last_install.legs[SHARD_LEG_B].remote_tag, "fork1", 5);
}

/* A refusal after an early dialog needs no install before it: the release
 * goes to the worker, the ACK to bob and the 486 to alice at once. */
static void test_final_after_early_dialog_goes_at_once(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 183, "btag");
	response_from_bob(inv, 486, "btag");
	assert_string_equal(events, "SSISSS");
	assert_int_equal(sent_msg(nsent - 1)->status, 486);
	assert_false(sent[nsent - 1].after_install);
	assert_int_equal(nrelease, 1);
}

/* The worker's ring is full when the 2xx comes: relaying it would give the
 * caller a dialog nobody holds (the daemon logged "worker refused dialog slot"
 * and relayed it anyway, and every request of such a call got 481). It is
 * neither relayed nor counted as an answer; the callee's retransmission is. */
static void test_2xx_waits_while_the_ring_is_full(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	install_fails = true;
	response_from_bob(inv, 200, "btag");
	assert_string_equal(events, "SS");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.answers_deferred, 1);
	assert_int_equal(st.calls_answered, 0);

	install_fails = false;
	response_from_bob(inv, 200, "btag"); /* retransmitted by bob */
	assert_string_equal(events, "SSIA");
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_answered, 1);
}

/* The install went in but the response cannot follow it (ring full just then):
 * it is not sent around the worker; bob's retransmission goes through it. */
static void test_answer_waits_for_the_next_retransmission(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	ordered_fails = true;
	response_from_bob(inv, 200, "btag");
	assert_string_equal(events, "SSI");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.answers_deferred, 1);
	assert_int_equal(st.calls_answered, 1);

	ordered_fails = false;
	response_from_bob(inv, 200, "btag");
	assert_string_equal(events, "SSIA");
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
}

/* A response too large for a ring message is sent at once rather than never
 * (no relayed response is that large: workers receive at most 2 KiB). */
static void test_answer_too_large_for_the_ring_goes_at_once(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	ordered_too_big = true;
	response_from_bob(inv, 200, "btag");
	assert_string_equal(events, "SSIS");
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.answers_deferred, 0);
}

static const char *cdr_str(unsigned i, const char *key)
{
	const char *v = json_string_value(json_object_get(cdrs[i], key));
	if (!v)
		fail_msg("CDR %u has no string \"%s\"", i, key);
	return v;
}

static json_int_t cdr_int(unsigned i, const char *key)
{
	json_t *v = json_object_get(cdrs[i], key);
	if (!json_is_integer(v))
		fail_msg("CDR %u has no integer \"%s\"", i, key);
	return json_integer_value(v);
}

/* "2026-12-01T23:59:59.123Z" */
static void assert_iso_time(const char *s)
{
	unsigned y, mo, d, h, mi, sec, ms;
	char z;
	assert_int_equal(strlen(s), 24);
	assert_int_equal(
	    sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u.%3u%c", &y, &mo, &d, &h, &mi, &sec, &ms, &z), 8);
	assert_true(y >= 2024 && z == 'Z');
}

/* An answered call's record comes when the worker ends its dialog, with who
 * ended it; nothing is written before. */
/* ---- INVITE with Replaces or Join (RFC 3891, 3911) ------------------------- */

/* Leg Y of a dialog a worker holds, as the worker hands it over: carol's
 * side of a call through sipshard, behind one proxy. */
static struct sip_session leg_y;
/* its dialog's credentials key, as the worker passes it (0: none) */
static uint32_t leg_y_auth_key;

static void make_leg_y(void)
{
	static const char call_id[] = "ycall@10.9.9.9", ours[] = "kourtagony",
			  theirs[] = "carol-tag", uri[] = "sip:carol@10.9.9.9",
			  target[] = "sip:carol@10.9.9.9:5070;transport=udp",
			  route[] = "Route: <sip:10.9.9.1;lr>\r\n";
	struct sockaddr_in carol;

	memset(&leg_y, 0, sizeof(leg_y));
	leg_y_auth_key = 0;
	SESSION_SET(&leg_y, call_id, call_id, sizeof(call_id) - 1);
	SESSION_SET(&leg_y, local_tag, ours, sizeof(ours) - 1);
	SESSION_SET(&leg_y, remote_tag, theirs, sizeof(theirs) - 1);
	SESSION_SET(&leg_y, remote_uri, uri, sizeof(uri) - 1);
	SESSION_SET(&leg_y, remote_target, target, sizeof(target) - 1);
	SESSION_SET(&leg_y, route_set, route, sizeof(route) - 1);
	test_addr_in(&carol, "10.9.9.1", 5070);
	memcpy(&leg_y.peer, &carol, sizeof(carol));
	leg_y.peer_len = sizeof(carol);
}

/* alice's INVITE with header line hdr (a Replaces or Join naming the dialog
 * whose other leg is leg_y, as the worker found it). */
static void replacing_invite_from_alice(const char *hdr)
{
	int n = snprintf(in, sizeof(in),
			 "INVITE sip:sipshard@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKrep1\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
			 "To: <sip:sipshard@127.0.0.1>\r\n"
			 "Call-ID: r1@10.1.1.1\r\n"
			 "CSeq: 1 INVITE\r\n"
			 "Contact: <sip:alice@10.1.1.1:5061>\r\n"
			 "%s\r\n"
			 "Content-Length: 0\r\n\r\n",
			 hdr);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	ctl_on_replacing_invite(ctl, 0, &m, &leg_y, leg_y_auth_key, (const struct sockaddr *)&alice,
				sizeof(alice), alice_now);
}

/* The value of sent INVITE inv's header line id, NUL-terminated. */
static const char *sent_hdr(unsigned inv, enum sip_hdr id)
{
	static char v[512];
	const struct sip_msg *i = sent_msg(inv);
	const struct sip_hdr_line *h = sip_find_hdr(i, id);
	if (!h)
		return "";
	snprintf(v, sizeof(v), "%.*s", h->value.len, sent[inv].buf + h->value.off);
	return v;
}

/* The dialog the worker got last (last_install), re-attached by a new
 * process: adopted, then ended by the caller's BYE. Its CDR, carried_over,
 * is record ncdrs - 1; the members a carried CDR names that the last
 * ordinary one (record ordinary) names too must be the same, but "target"
 * when with_target is false: the carried CDR's is the callee's address as
 * the dialog has it (leg B's peer), not where the INVITE went. */
static void assert_carried_cdr_names_the_same(unsigned ordinary, bool with_target)
{
	static const char *const members[] = {"call_id", "leg_b_call_id", "from",
					      "to",	 "request_uri",	  "source",
					      "route",	 "target",	  "attempts"};
	struct shard_table t;

	assert_int_equal(shard_table_open(&t, NULL, DIALOGS, 32), 0);
	struct shard_dialog d = last_install;
	d.state = SHARD_DLG_CONFIRMED;
	assert_int_equal(shard_dialog_install(&t, &d, 1000), 0);
	assert_int_equal(ctl_adopt(ctl, 0, &t, 4000), 1);
	ctl_on_dialog_ended(ctl, 0, d.slot, d.gen + 1, CTL_END_BYE_CALLER);
	unsigned carried = ncdrs - 1;
	assert_true(carried > ordinary);
	assert_true(json_is_true(json_object_get(cdrs[carried], "carried_over")));
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		if (!with_target && !strcmp(members[i], "target"))
			continue;
		json_t *want = json_object_get(cdrs[ordinary], members[i]);
		json_t *got = json_object_get(cdrs[carried], members[i]);
		if (!want || !got || !json_equal(want, got))
			fail_msg("carried CDR's \"%s\" differs from the call's", members[i]);
	}
	shard_table_close(&t);
}

/* The new call goes to the party of the replaced dialog's other leg, by
 * that leg's target, route set and address, with the Replaces naming that
 * leg's dialog as its party knows it (RFC 3891 3: to-tag its own tag,
 * from-tag ours), its other parameters kept; no route is chosen, and the
 * CDR says where the call went. */
static void test_replacing_invite_goes_to_the_other_leg(void **state)
{
	(void)state;
	make_leg_y();
	replacing_invite_from_alice(
	    "Replaces: p1call@10.2.2.2;to-tag=kshardtag;from-tag=p1tag;early-only;x=\"a;b\"");
	unsigned inv = invite_to_bob();
	const struct sip_msg *i = sent_msg(inv);
	assert_string_equal(inet_ntoa(sent[inv].to.sin_addr), "10.9.9.1");
	assert_int_equal(ntohs(sent[inv].to.sin_port), 5070);
	assert_int_equal(i->ruri.whole.len, strlen(leg_y.remote_target));
	assert_memory_equal(sent[inv].buf + i->ruri.whole.off, leg_y.remote_target,
			    i->ruri.whole.len);
	assert_string_equal(sent_hdr(inv, SIP_HDR_ROUTE), "<sip:10.9.9.1;lr>");
	assert_string_equal(sent_hdr(inv, SIP_HDR_TO), "<sip:carol@10.9.9.9>");
	assert_string_equal(
	    sent_hdr(inv, SIP_HDR_REPLACES),
	    "ycall@10.9.9.9;to-tag=carol-tag;from-tag=kourtagony;early-only;x=\"a;b\"");
	/* topology hidden as for any call: nothing of alice's dialog or of the
	 * dialog as the other side knew it */
	assert_null(memmem(sent[inv].buf, sent[inv].len, "r1@10.1.1.1", 11));
	assert_null(memmem(sent[inv].buf, sent[inv].len, "p1call", 6));
	assert_null(memmem(sent[inv].buf, sent[inv].len, "kshardtag", 9));
	/* the dialog the worker gets: leg B with carol's target, at her address */
	response_from_bob(inv, 200, "newtag");
	assert_int_equal(ninstall, 1);
	const struct sip_session *lb = &last_install.legs[SHARD_LEG_B];
	assert_string_equal(lb->remote_uri, "sip:carol@10.9.9.9");
	assert_string_equal(lb->remote_target, "sip:bob@127.0.0.1:5090"); /* the 2xx's Contact */
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLEE);
	assert_int_equal(ncdrs, 1);
	assert_true(json_is_null(json_object_get(cdrs[0], "route")));
	assert_string_equal(cdr_str(0, "target"), "10.9.9.1:5070");
	assert_string_equal(cdr_str(0, "disposition"), "answered");
	/* "route" null after a restart too */
	assert_int_equal(last_install.cdr.route_len, 0);
	assert_carried_cdr_names_the_same(0, false);
}

/* A Join is rewritten the same way (RFC 3911 7.1 has the same tags). */
static void test_joining_invite_names_the_other_leg(void **state)
{
	(void)state;
	make_leg_y();
	leg_y.route_set_len = 0;
	leg_y.route_set[0] = '\0';
	replacing_invite_from_alice("Join: p1call@10.2.2.2;from-tag=p1tag;to-tag=kshardtag");
	unsigned inv = invite_to_bob();
	assert_string_equal(sent_hdr(inv, SIP_HDR_JOIN),
			    "ycall@10.9.9.9;to-tag=carol-tag;from-tag=kourtagony");
	assert_null(sip_find_hdr(sent_msg(inv), SIP_HDR_ROUTE));
	assert_null(sip_find_hdr(sent_msg(inv), SIP_HDR_REPLACES));
}

/* Policy still applies: while draining, 503 and nothing to the other leg. */
static void test_replacing_invite_refused_while_draining(void **state)
{
	(void)state;
	make_leg_y();
	ctl_set_draining(ctl, true);
	replacing_invite_from_alice("Replaces: p1call@10.2.2.2;to-tag=kshardtag;from-tag=p1tag");
	assert_int_equal(nsent, 1);
	assert_false(sent_msg(0)->is_request);
	assert_int_equal(out.status, 503);
	assert_string_equal(inet_ntoa(sent[0].to.sin_addr), "10.1.1.1");
}

/* The request sent last to leg B with this method (a CANCEL, an ACK). */
static unsigned last_sent_request(int method)
{
	for (unsigned i = nsent; i-- > 0;)
		if (sent_msg(i)->is_request && out.method_id == method)
			return i;
	fail_msg("no such request sent");
	return 0;
}

/* The CANCEL of a call that replaces a dialog carries the route set its
 * INVITE did (RFC 3261 9.1: "If the request being cancelled contains a Route
 * header field, the CANCEL request MUST include that Route header field's
 * values"), and so does the ACK of a non-2xx final (17.1.1.3). */
static void test_replacing_invite_cancel_and_ack_keep_its_route(void **state)
{
	(void)state;
	make_leg_y();
	replacing_invite_from_alice("Replaces: p1call@10.2.2.2;to-tag=kshardtag;from-tag=p1tag");
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "newtag");
	from_alice("CANCEL sip:sipshard@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKrep1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:sipshard@127.0.0.1>\r\n"
		   "Call-ID: r1@10.1.1.1\r\n"
		   "CSeq: 1 CANCEL\r\n"
		   "Content-Length: 0\r\n\r\n");
	unsigned cancel = last_sent_request(SIP_METHOD_CANCEL);
	assert_string_equal(inet_ntoa(sent[cancel].to.sin_addr), "10.9.9.1");
	assert_string_equal(sent_hdr(cancel, SIP_HDR_ROUTE), "<sip:10.9.9.1;lr>");
	response_from_bob(inv, 487, "newtag");
	unsigned ack = last_sent_request(SIP_METHOD_ACK);
	assert_string_equal(inet_ntoa(sent[ack].to.sin_addr), "10.9.9.1");
	assert_string_equal(sent_hdr(ack, SIP_HDR_ROUTE), "<sip:10.9.9.1;lr>");
}

static void test_cdr_answered_call(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 200, "btag");
	assert_int_equal(ninstall, 1);
	assert_int_equal(ncdrs, 0);
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLEE);
	assert_int_equal(ncdrs, 1);
	assert_string_equal(cdr_str(0, "call_id"), "a1@10.1.1.1");
	assert_string_not_equal(cdr_str(0, "leg_b_call_id"), "a1@10.1.1.1");
	assert_string_equal(cdr_str(0, "from"), "sip:alice@10.1.1.1");
	assert_string_equal(cdr_str(0, "to"), "sip:+15551234@127.0.0.1");
	assert_string_equal(cdr_str(0, "request_uri"), "sip:+15551234@127.0.0.1:5060");
	assert_string_equal(cdr_str(0, "source"), "10.1.1.1:5061");
	assert_string_equal(cdr_str(0, "route"), "b");
	assert_string_equal(cdr_str(0, "target"), "127.0.0.1:5090");
	assert_string_equal(cdr_str(0, "disposition"), "answered");
	assert_int_equal(cdr_int(0, "status"), 200);
	assert_string_equal(cdr_str(0, "end_reason"), "bye_callee");
	assert_iso_time(cdr_str(0, "start"));
	assert_iso_time(cdr_str(0, "answer"));
	assert_iso_time(cdr_str(0, "end"));
	assert_true(strcmp(cdr_str(0, "start"), cdr_str(0, "answer")) <= 0);
	assert_true(strcmp(cdr_str(0, "answer"), cdr_str(0, "end")) <= 0);
	assert_true(cdr_int(0, "duration_ms") >= 0 && cdr_int(0, "setup_ms") >= 0);
	/* a second report for the same slot (another generation) writes nothing */
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 2, CTL_END_IDLE);
	assert_int_equal(ncdrs, 1);
	/* the dialog record keeps what a carried call's CDR names */
	assert_string_equal(last_install.cdr.route, "b");
	assert_string_equal(last_install.cdr.request_uri, "sip:+15551234@127.0.0.1:5060");
	assert_int_equal(last_install.cdr.attempts, 1);
	assert_carried_cdr_names_the_same(0, true);
}

/* Added to CLOCK_REALTIME for the code under test: the wall clock stepped
 * (NTP) while a call is up. This definition takes the place of libc's for
 * the controller linked into this test. */
static int64_t wall_step_ms;

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc = (int)syscall(SYS_clock_gettime, id, ts);
	if (rc == 0 && id == CLOCK_REALTIME && wall_step_ms) {
		int64_t ns =
		    (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + wall_step_ms * 1000000;
		ts->tv_sec = ns / 1000000000;
		ts->tv_nsec = ns % 1000000000;
	}
	return rc;
}

/* When not 0, what the code under test gets from getrandom for an 8-byte
 * seed (rng_seed: the controller's key_seed among them), so that a test
 * knows the key a restart draws. This definition takes the place of libc's
 * for the controller linked into this test, as clock_gettime's does. */
static uint64_t fixed_seed;

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	if (fixed_seed && len == sizeof(fixed_seed)) {
		memcpy(buf, &fixed_seed, len);
		return (ssize_t)len;
	}
	return (ssize_t)syscall(SYS_getrandom, buf, len, flags);
}

/* The wall clock stepped back 5 s while the call was up: the CDR said
 * duration_ms 18446744073709546616 and an end before its answer. Durations
 * are measured on the monotonic clock, the end is the answer plus the
 * duration, and an answer that reads before the start is the start. */
static void test_cdr_wall_clock_stepped_back(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 200, "btag");
	wall_step_ms = -5000;
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLEE);
	assert_int_equal(ncdrs, 1);
	assert_true(strcmp(cdr_str(0, "start"), cdr_str(0, "answer")) <= 0);
	assert_true(strcmp(cdr_str(0, "answer"), cdr_str(0, "end")) <= 0);
	assert_in_range(cdr_int(0, "duration_ms"), 0, 1000);

	/* stepped back between the INVITE and its answer: set-up 0, not 2^64 - x */
	wall_step_ms = 0;
	nsent = 0;
	numbered_invite(2);
	inv = invite_to_bob();
	wall_step_ms = -5000;
	response_from_bob(inv, 486, "btag2");
	wall_step_ms = 0;
	assert_int_equal(ncdrs, 2);
	assert_in_range(cdr_int(1, "setup_ms"), 0, 1000);
}

static void test_cdr_unanswered_calls(void **state)
{
	(void)state;
	invite_from_alice();
	response_from_bob(invite_to_bob(), 486, "btag");
	assert_int_equal(ncdrs, 1);
	assert_string_equal(cdr_str(0, "disposition"), "failed");
	assert_int_equal(cdr_int(0, "status"), 486);
	assert_null(json_object_get(cdrs[0], "answer"));
	assert_null(json_object_get(cdrs[0], "end_reason"));
	assert_iso_time(cdr_str(0, "end"));

	/* the callee never answers: Timer B */
	numbered_invite(2);
	ctl_on_tick(ctl, 1000 + 64 * 500 + 1);
	assert_int_equal(ncdrs, 2);
	assert_string_equal(cdr_str(1, "call_id"), "n2@10.1.1.1");
	assert_string_equal(cdr_str(1, "disposition"), "timeout");
	assert_int_equal(cdr_int(1, "status"), 408);
}

static void test_cdr_cancelled_call(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "btag");
	cancel_from_alice();
	response_from_bob(inv, 487, "btag");
	assert_int_equal(ncdrs, 1);
	assert_string_equal(cdr_str(0, "disposition"), "cancelled");
	assert_int_equal(cdr_int(0, "status"), 487);
}

/*
 * A record's members come from the network: a Call-ID may hold '"' and '\\'
 * (RFC 3261 word), a URI is cut to 200 bytes. The line is exactly what
 * jansson's compact dump of the same object writes (the members are written
 * through jansson's string encoder, not through an object per call).
 */
static void test_cdr_members_escaped_as_jansson_writes_them(void **state)
{
	/* past the CDR's 200 bytes, within the record's URI (leg B's From is
	 * this user at our advertise, 255 bytes at most) */
	char user[231];
	(void)state;
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:%s@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: q\"b\\s{x}@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		   "Content-Length: 0\r\n\r\n",
		   user);
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 486, "btag");
	assert_int_equal(ncdrs, 1);
	assert_string_equal(cdr_str(0, "call_id"), "q\"b\\s{x}@10.1.1.1");
	char from[201] = "sip:";
	memcpy(from + 4, user, 196);
	from[200] = '\0';
	assert_string_equal(cdr_str(0, "from"), from); /* cut at 200 bytes */
	assert_non_null(strstr(cdr_lines[0], "\"call_id\":\"q\\\"b\\\\s{x}@10.1.1.1\""));
	char *again = json_dumps(cdrs[0], JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(again);
	assert_string_equal(cdr_lines[0], again);
	free(again);
}

/* A call still up when the daemon stops after serving gets its record then
 * (ctl_end_open_cdrs); a close alone writes none (a start that failed after
 * taking calls over wrote each a record, at every attempt). */
static void test_cdr_call_up_at_close(void **state)
{
	(void)state;
	invite_from_alice();
	response_from_bob(invite_to_bob(), 200, "btag");
	assert_int_equal(ncdrs, 0);
	ctl_end_open_cdrs(ctl);
	assert_int_equal(ncdrs, 1);
	ctl_end_open_cdrs(ctl); /* once */
	ctl_close(ctl);
	ctl = NULL;
	assert_int_equal(ncdrs, 1);
	assert_string_equal(cdr_str(0, "disposition"), "answered");
	assert_string_equal(cdr_str(0, "end_reason"), "daemon_stopped");
}

/* The CDR among those written whose call_id is id, or fails. */
static unsigned cdr_of(const char *id)
{
	for (unsigned i = 0; i < ncdrs; i++)
		if (!strcmp(cdr_str(i, "call_id"), id))
			return i;
	fail_msg("no CDR of %s", id);
	return 0;
}

/*
 * The calls still setting up when the daemon stops with its records in
 * memory (persist_dialogs false: no next process takes them up) reached the
 * callee and get their record then too: end_reason daemon_stopped, status
 * null (the caller was sent no final), disposition cancelled for one the
 * caller had cancelled, failed for the others. They got none, while the
 * answered calls got theirs (test_cdr_call_up_at_close). One whose final
 * was sent has its record already.
 */
static void test_cdr_calls_setting_up_at_stop(void **state)
{
	(void)state;
	invite_from_alice(); /* a1: rings, the caller cancels, no 487 yet */
	response_from_bob(invite_to_bob(), 180, "btag");
	cancel_from_alice();
	nsent = 0;
	numbered_invite(2); /* rings */
	response_from_bob(invite_to_bob(), 180, "b2");
	nsent = 0;
	numbered_invite(3); /* its INVITE went, nothing came back */
	nsent = 0;
	numbered_invite(4); /* refused: written at its final */
	response_from_bob(invite_to_bob(), 486, "b4");
	assert_int_equal(ncdrs, 1);

	ctl_end_open_cdrs(ctl);
	assert_int_equal(ncdrs, 4);
	ctl_end_open_cdrs(ctl); /* once */
	assert_int_equal(ncdrs, 4);
	static const char *const want[][2] = {
	    {"a1@10.1.1.1", "cancelled"}, {"n2@10.1.1.1", "failed"}, {"n3@10.1.1.1", "failed"}};
	for (unsigned j = 0; j < 3; j++) {
		unsigned i = cdr_of(want[j][0]);
		assert_string_equal(cdr_str(i, "disposition"), want[j][1]);
		assert_string_equal(cdr_str(i, "end_reason"), "daemon_stopped");
		assert_true(json_is_null(json_object_get(cdrs[i], "status")));
		assert_null(json_object_get(cdrs[i], "answer"));
		assert_in_range(cdr_int(i, "setup_ms"), 0, 10000);
		assert_iso_time(cdr_str(i, "end"));
	}
	assert_string_equal(cdr_str(cdr_of("n4@10.1.1.1"), "disposition"), "failed");
	assert_null(json_object_get(cdrs[cdr_of("n4@10.1.1.1")], "end_reason"));
}

/*
 * After a restart the controller takes over what the re-attached table holds:
 * the carried call's slot is never handed out, a slot freed before the restart
 * comes back with a generation above its last, the call counts against
 * limits.max_calls (4 here), and its CDR, written when the worker ends it,
 * says it was carried over.
 */
static void test_adopt_carried_calls(void **state)
{
	(void)state;
	struct shard_table t;
	assert_int_equal(shard_table_open(&t, NULL, DIALOGS, 32), 0);
	assert_int_equal(relay_dialog_install(&t, 0, 5, "ka", "kb", 1000), 0);
	struct shard_dialog gone = {.slot = 2, .gen = 7, .state = SHARD_DLG_CONFIRMED};
	assert_int_equal(shard_dialog_install(&t, &gone, 1000), 0);
	shard_dialog_free(&t, 2);

	assert_int_equal(ctl_adopt(ctl, 0, &t, 4000), 1);
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 1);
	assert_int_equal(policy_calls(pol), 1);

	/* three more calls fit under max_calls 4; the fourth does not */
	for (int n = 1; n <= 4; n++) {
		nsent = 0;
		numbered_invite(n);
		if (n == 4) {
			assert_int_equal(sent_msg(0)->status, 503);
			break;
		}
		response_from_bob(invite_to_bob(), 200, "btag");
	}
	assert_int_equal(ninstall, 3);
	assert_int_equal(installs[0].slot, 1);
	assert_int_equal(installs[0].gen, 1);
	assert_int_equal(installs[1].slot, 2);
	assert_int_equal(installs[1].gen, 8);
	assert_int_equal(installs[2].slot, 3);

	ctl_on_dialog_ended(ctl, 0, 0, 6, CTL_END_BYE_CALLER);
	assert_int_equal(ncdrs, 1);
	assert_true(json_is_true(json_object_get(cdrs[0], "carried_over")));
	assert_string_equal(cdr_str(0, "call_id"), "callA@host");
	assert_string_equal(cdr_str(0, "leg_b_call_id"), "callB@sipshard");
	assert_string_equal(cdr_str(0, "from"), "sip:alice@10.1.1.1");
	assert_string_equal(cdr_str(0, "to"), "sip:bob@sbc");
	assert_string_equal(cdr_str(0, "source"), "10.1.1.1:5061");
	assert_string_equal(cdr_str(0, "target"), "10.2.2.2:5080");
	assert_string_equal(cdr_str(0, "disposition"), "answered");
	assert_string_equal(cdr_str(0, "end_reason"), "bye_caller");
	assert_iso_time(cdr_str(0, "call_start"));
	assert_true(strcmp(cdr_str(0, "call_start"), cdr_str(0, "start")) < 0);
	assert_true(strcmp(cdr_str(0, "start"), cdr_str(0, "end")) <= 0);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 3);
	shard_table_close(&t);
}

/* Draining: a new INVITE and an OPTIONS get 503 with Retry-After, while a call
 * already setting up completes. */
static void test_draining_refuses_new_calls_only(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	ctl_set_draining(ctl, true);
	unsigned before = nsent;
	numbered_invite(2);
	assert_int_equal(nsent, before + 1);
	assert_int_equal(sent_msg(before)->status, 503);
	assert_non_null(sip_find_hdr(&out, SIP_HDR_RETRY_AFTER));
	from_alice("OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKopt\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=otag\r\n"
		   "To: <sip:127.0.0.1>\r\n"
		   "Call-ID: o1@10.1.1.1\r\n"
		   "CSeq: 1 OPTIONS\r\n"
		   "Content-Length: 0\r\n\r\n");
	assert_int_equal(sent_msg(before + 1)->status, 503);
	/* the call that was setting up is answered and installed as usual */
	response_from_bob(inv, 200, "btag");
	assert_int_equal(ninstall, 1);
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_draining, 1);
	assert_int_equal(st.calls_answered, 1);
	ctl_set_draining(ctl, false);
	before = nsent;
	from_alice("OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKopt2\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=otag2\r\n"
		   "To: <sip:127.0.0.1>\r\n"
		   "Call-ID: o2@10.1.1.1\r\n"
		   "CSeq: 1 OPTIONS\r\n"
		   "Content-Length: 0\r\n\r\n");
	assert_int_equal(sent_msg(before)->status, 200);
}

/* out_of_dialog.OPTIONS set to 405: CONFIG.md says a 405 carries an Allow
 * header, as RFC 3261 8.2.1 requires of every 405; the OPTIONS answer had
 * one only for a 200. */
static const char options_405_config[] =
    SMALL_CONFIG_HEAD " \"out_of_dialog\": {\"OPTIONS\": 405},"
		      " \"routes\": [{\"name\": \"b\", \"target\": \"127.0.0.1:5090\"}]}";

static void test_options_405_carries_allow(void **state)
{
	(void)state;
	from_alice("OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKopt405\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=otag\r\n"
		   "To: <sip:127.0.0.1>\r\n"
		   "Call-ID: o405@10.1.1.1\r\n"
		   "CSeq: 1 OPTIONS\r\n"
		   "Content-Length: 0\r\n\r\n");
	assert_int_equal(nsent, 1);
	assert_int_equal(sent_msg(0)->status, 405);
	const struct sip_hdr_line *allow = sip_find_hdr(&out, SIP_HDR_ALLOW);
	assert_non_null(allow);
	/* the method it refuses is not among those it says it allows */
	assert_null(memmem(out.buf + allow->value.off, allow->value.len, "OPTIONS", 7));
}

/* An out-of-dialog request (no To tag) of method, from alice. */
static void ood_from_alice(const char *method)
{
	from_alice("%s sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKood%s\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=otag\r\n"
		   "To: <sip:bob@127.0.0.1>\r\n"
		   "Call-ID: ood-%s@10.1.1.1\r\n"
		   "CSeq: 1 %s\r\n"
		   "Content-Length: 0\r\n\r\n",
		   method, method, method, method);
}

/* A BYE without a To tag names no dialog: RFC 3261 15.1.2 has a UAS answer
 * a BYE that matches none 481. It got 405 with an Allow that lists BYE, a
 * method it said it allows while refusing it; another method still gets the
 * 405. */
static void test_bye_out_of_dialog_gets_481(void **state)
{
	struct ctl_stats st;
	(void)state;
	ood_from_alice("BYE");
	assert_int_equal(nsent, 1);
	assert_int_equal(sent_msg(0)->status, 481);
	assert_null(sip_find_hdr(&out, SIP_HDR_ALLOW));
	ood_from_alice("FOO");
	assert_int_equal(nsent, 2);
	assert_int_equal(sent_msg(1)->status, 405);
	assert_non_null(sip_find_hdr(&out, SIP_HDR_ALLOW));
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.answered_481, 1);
	assert_int_equal(st.ood_answered, 1);
}

/* A 405's Allow lists the valid methods (RFC 3261 21.4.6): with
 * out_of_dialog answering OPTIONS and BYE 405, a BYE's 405 and another
 * method's list neither. They listed both, fixed strings. */
static const char bye_options_405_config[] =
    SMALL_CONFIG_HEAD " \"out_of_dialog\": {\"OPTIONS\": 405, \"BYE\": 405},"
		      " \"routes\": [{\"name\": \"b\", \"target\": \"127.0.0.1:5090\"}]}";

static void test_405_allows_no_method_it_refuses(void **state)
{
	(void)state;
	static const char *const methods[] = {"BYE", "MESSAGE"};
	for (unsigned i = 0; i < 2; i++) {
		ood_from_alice(methods[i]);
		assert_int_equal(nsent, i + 1);
		assert_int_equal(sent_msg(i)->status, 405);
		const struct sip_hdr_line *allow = sip_find_hdr(&out, SIP_HDR_ALLOW);
		assert_non_null(allow);
		print_message("%s: Allow: %.*s\n", methods[i], (int)allow->value.len,
			      out.buf + allow->value.off);
		assert_null(memmem(out.buf + allow->value.off, allow->value.len, "OPTIONS", 7));
		assert_null(memmem(out.buf + allow->value.off, allow->value.len, "BYE", 3) && i == 0
				? "BYE listed"
				: NULL);
		assert_non_null(memmem(out.buf + allow->value.off, allow->value.len, "INVITE", 6));
	}
}

/* out_of_dialog.BYE, when an operator names it, is the answer still. */
static const char bye_403_config[] =
    SMALL_CONFIG_HEAD " \"out_of_dialog\": {\"BYE\": 403},"
		      " \"routes\": [{\"name\": \"b\", \"target\": \"127.0.0.1:5090\"}]}";

static void test_bye_out_of_dialog_as_configured(void **state)
{
	(void)state;
	ood_from_alice("BYE");
	assert_int_equal(nsent, 1);
	assert_int_equal(sent_msg(0)->status, 403);
}

/* A fork refused an early dialog of its own has its reliable 18x PRACKed
 * by sipshard (CSeq the INVITE's + 1 + RSeq). When its 2xx comes after
 * another fork answered, the BYE that ends it once took the INVITE's CSeq
 * + 1, below that PRACK in the same dialog (RFC 3261 12.2.1.1): the callee
 * answers it 500 (12.2.2) and stays in a call with nobody. */
static void test_bye_of_a_pracked_fork_is_above_its_prack(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob_with(inv, 183, "fork1", "Require: 100rel\r\nRSeq: 1\r\n", 1100);
	install_fails = true; /* no early dialog for fork2: sipshard PRACKs it */
	unsigned before = nsent;
	response_from_bob_with(inv, 183, "fork2", "Require: 100rel\r\nRSeq: 5\r\n", 1200);
	install_fails = false;
	int pr = last_to_bob(before, SIP_METHOD_PRACK);
	assert_true(pr >= 0);
	uint32_t prack_cseq = sent_msg((unsigned)pr)->cseq.num;
	assert_int_equal(prack_cseq, 1 + 1 + 5);
	response_from_bob_with((unsigned)pr, 200, "fork2", "", 1250);
	response_from_bob_at(inv, 200, "fork1", 1300);
	before = nsent;
	response_from_bob_at(inv, 200, "fork2", 1400);
	assert_true(last_to_bob(before, SIP_METHOD_ACK) >= 0);
	int bye = last_to_bob(before, SIP_METHOD_BYE);
	assert_true(bye >= 0);
	const struct sip_msg *b = sent_msg((unsigned)bye);
	assert_true(sip_view_eq(sent[bye].buf, b->to.tag, "fork2", 5));
	if (b->cseq.num <= prack_cseq)
		fail_msg("BYE CSeq %u not above the PRACK's %u", b->cseq.num, prack_cseq);
	assert_true(b->cseq.num < (UINT32_C(1) << 31));
}

/* Another fork's 2xx comes up to 64*T1 after the first (RFC 3261 13.2.2.4):
 * ACKed and ended with a BYE. The answered call's record lingered 8 s, and
 * such a 2xx after that was dropped as unknown, its callee left in a call
 * with nobody; and a 100 after the call's final moved no counter while
 * the record was there. */
static void test_second_fork_answering_late_is_ended(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob_at(inv, 180, "fork1", 1100);
	response_from_bob_at(inv, 200, "fork1", 1300);
	for (uint64_t t = 1300; t <= 1300 + 30000; t += 100)
		ctl_on_tick(ctl, t);
	unsigned before = nsent;
	response_from_bob_at(inv, 200, "fork2", 1300 + 30100);
	if (last_to_bob(before, SIP_METHOD_ACK) < 0 || last_to_bob(before, SIP_METHOD_BYE) < 0)
		fail_msg("a second fork's 2xx 30 s after the first: no ACK and BYE");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, 1);
	assert_int_equal(st.late_provisionals, 0);
	response_from_bob_at(inv, 100, NULL, 1300 + 30200);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.late_provisionals, 1);
	assert_int_equal(st.dropped_unknown_response, 0);
}

/* Leg B answers the CANCEL of a ringing call 200, and sends that 200 again;
 * a response with CSeq method CANCEL on that branch ends here, as the
 * worker's drops.cancel_answered does for a re-INVITE's CANCEL: it moved no
 * counter of the controller's. */
static void test_answers_to_leg_b_cancel_counted(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "btag");
	cancel_from_alice();
	unsigned cancel = last_sent_request(SIP_METHOD_CANCEL);
	unsigned before = nsent;
	response_from_bob(cancel, 200, "btag");
	response_from_bob(cancel, 200, "btag");
	assert_int_equal(nsent, before); /* nothing sent for them */
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.cancel_responses, 2);
	assert_int_equal(st.dropped_unknown_response, 0);
	response_from_bob(inv, 487, "btag");
	assert_int_equal(sent_msg(last_sent_request(SIP_METHOD_ACK))->method_id, SIP_METHOD_ACK);
}

/* A CANCEL that matches no call, one in a dialog naming no re-INVITE (the
 * worker hands it over), and a request with a To tag for no dialog are
 * answered 481 (RFC 3261 9.2, 12.2.2): counted, where they moved no
 * counter of the controller's. */
static void test_481_answers_counted(void **state)
{
	struct ctl_stats st;
	(void)state;
	cancel_from_alice(); /* no INVITE before it */
	from_alice("CANCEL sip:sipshard@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKdlgc\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:sipshard@127.0.0.1>;tag=sometag\r\n"
		   "Call-ID: d1@10.1.1.1\r\n"
		   "CSeq: 7 CANCEL\r\n"
		   "Content-Length: 0\r\n\r\n");
	from_alice("INFO sip:sipshard@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKdlgi\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:sipshard@127.0.0.1>;tag=sometag\r\n"
		   "Call-ID: d1@10.1.1.1\r\n"
		   "CSeq: 8 INFO\r\n"
		   "Content-Length: 0\r\n\r\n");
	assert_int_equal(nsent, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(sent_msg(i)->status, 481);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.answered_481, 3);
	assert_int_equal(st.ood_answered, 0);
}

/* A 100 to leg B's INVITE while it sets up ends here (hop by hop), and a
 * non-2xx final from another fork after the call's 2xx is ACKed (RFC 3261
 * 17.1.1.3): each moved no counter of the controller's; the 100 is counted
 * (provisionals_100), the final with the stale finals ACKed. */
static void test_trying_and_a_final_after_the_answer_counted(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	unsigned before = nsent;
	response_from_bob(inv, 100, NULL);
	response_from_bob(inv, 180, "fork1");
	response_from_bob(inv, 100, NULL);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.provisionals_100, 2);
	assert_int_equal(st.late_provisionals, 0);
	assert_int_equal(nsent, before + 1); /* the 180 alone went to the caller */
	response_from_bob_at(inv, 200, "fork1", 1200);
	before = nsent;
	response_from_bob_at(inv, 486, "fork2", 1300);
	assert_true(last_to_bob(before, SIP_METHOD_ACK) >= 0);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_finals_acked, 1);
	assert_int_equal(st.dropped_unknown_response, 0);
}

/* Found measuring set-up rates: answered calls keep their record a few seconds
 * for 2xx retransmissions, and at a few thousand calls per second those
 * records filled capacity.setups, so new INVITEs got 503 (rejected_capacity)
 * while nothing was setting up. The oldest lingering record now gives way. */
static void test_lingering_records_give_way_to_new_calls(void **state)
{
	struct ctl_stats st;
	(void)state;
	/* 16 setup records (capacity.setups) all lingering after their answer */
	for (int n = 0; n < 16; n++) {
		nsent = 0; /* only this call's datagrams are looked at */
		numbered_invite(n);
		unsigned inv = 1; /* after the 100 to alice */
		assert_int_equal(sent_msg(inv)->method_id, SIP_METHOD_INVITE);
		response_from_bob(inv, 200, "btag");
		ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1,
				    CTL_END_BYE_CALLER);
	}
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_answered, 16);
	assert_int_equal(st.calls_active, 0);
	nsent = 0;
	numbered_invite(16);
	assert_int_equal(sent_msg(1)->method_id, SIP_METHOD_INVITE);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_capacity, 0);
	assert_int_equal(st.linger_evicted, 1);
	/* after the linger time (64*T1, 32 s, from the answer at 1100) every
	 * answered record is free again: the next INVITEs (up to max_calls) need
	 * no eviction */
	ctl_on_tick(ctl, 1100 + 64 * 500 - 1);
	nsent = 0;
	numbered_invite(17);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.linger_evicted, 2); /* not yet */
	ctl_on_tick(ctl, 1100 + 64 * 500);
	for (int n = 18; n < 21; n++) {
		nsent = 0;
		numbered_invite(n);
	}
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.linger_evicted, 2);
	assert_int_equal(st.rejected_capacity, 0);
}

/* ---- set-up records across a restart ------------------------------------------ */

static struct shard_table table; /* the worker's, as it re-attaches it */

static int setup_file(void **state)
{
	(void)state;
	snprintf(setups_path, sizeof(setups_path), "/tmp/test_controller.%d.tbl", (int)getpid());
	unlink(setups_path);
	assert_int_equal(shard_table_open(&table, NULL, DIALOGS, 32), 0);
	return open_ctl(true, true);
}

/* The same with the set-up records in a file (restarts). */
static int setup_config_file(void **state)
{
	ctl_config = *state;
	return setup_file(state);
}

static int teardown_file(void **state)
{
	teardown(state);
	shard_table_close(&table);
	unlink(setups_path);
	setups_path[0] = '\0';
	return 0;
}

/* A call from alice that bob rings (To tag btag), its early dialog applied
 * by the worker; *bob_invite keeps the INVITE bob got. */
static struct shard_dialog ringing_call(const char *btag, struct sent *bob_invite)
{
	invite_from_alice();
	unsigned inv = invite_to_bob();
	*bob_invite = sent[inv];
	unsigned before = ninstall;
	response_from_bob(inv, 180, btag);
	assert_int_equal(ninstall, before + 1);
	assert_int_equal(shard_dialog_install(&table, &installs[before], 1000), 0);
	return installs[before];
}

/* The worker applies the installs from the from-th on to its table. */
static void worker_applies(unsigned from)
{
	for (unsigned i = from; i < ninstall && i < DIALOGS; i++)
		assert_int_equal(shard_dialog_install(&table, &installs[i], 1000), 0);
}

/*
 * RFC 3261 14.1: no INVITE in a dialog while another INVITE transaction is
 * in progress in it; a UAS that receives one before it sent the final to the
 * first answers 500 with Retry-After (14.2). The caller's re-INVITE in the
 * early dialog was relayed to the callee instead, and the worker took its
 * CSeq (2) as the caller's last INVITE: the ACK (CSeq 1) of the callee's 2xx
 * to the call's INVITE was then dropped as the ACK of an answer given here
 * (ack_of_local_answer), and the callee, never ACKed, ended the call after
 * 64*T1 (13.3.1.4).
 */
static void test_reinvite_in_early_dialog_refused(void **state)
{
	struct sent bob_invite;
	struct relay_result res;
	struct relay_ctx wrc = {
	    .table = &table, .shard = 0, .advertise = "127.0.0.1:5060", .now_ms = 1100};
	static char wout[SIP_MAX_DATAGRAM], win[2048];
	static struct sip_msg wm;
	(void)state;

	struct shard_dialog early = ringing_call("btag", &bob_invite);
	const struct sip_session *a = &early.legs[SHARD_LEG_A];
	static const char *const reqs[] = {"INVITE", "ACK"};
	for (int i = 0; i < 2; i++) {
		unsigned cseq = i ? 1 : 2;
		int n = snprintf(win, sizeof(win),
				 "%s sip:sipshard@127.0.0.1:5060 SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKr%d\r\n"
				 "Max-Forwards: 70\r\n"
				 "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
				 "To: <sip:+15551234@127.0.0.1>;tag=%.*s\r\n"
				 "Call-ID: a1@10.1.1.1\r\n"
				 "CSeq: %u %s\r\n"
				 "Contact: <sip:alice@10.1.1.1:5061>\r\n"
				 "Content-Length: 0\r\n\r\n",
				 reqs[i], i, (int)a->local_tag_len, a->local_tag, cseq, reqs[i]);
		assert_int_equal(sip_parse(&wm, win, (size_t)n, NULL), 0);
		relay_request(&wrc, &wm, wout, sizeof(wout), &res);
		if (i == 0) {
			if (res.outcome != RELAY_ANSWER || res.status != 500)
				fail_msg("re-INVITE in the early dialog: outcome %d status %d, "
					 "not answered 500",
					 res.outcome, res.status);
			/* bob answers the call's INVITE; the worker confirms it */
			unsigned n0 = ninstall;
			memcpy(&sent[0], &bob_invite, sizeof(bob_invite));
			nsent = 1;
			response_from_bob(0, 200, "btag");
			worker_applies(n0);
		} else if (res.outcome != RELAY_SEND) {
			fail_msg("ACK of the 2xx: outcome %d (drop %d), not relayed", res.outcome,
				 res.drop);
		}
	}
}

/* A restart as the daemon makes it: the controller stops (its records stay in
 * the file), a new one opens the file on a new policy and takes up the calls
 * still setting up, the worker frees early dialogs no record holds, and the
 * controller adopts the table. Returns what ctl_restore took up. */
/* A controller opened on the records' file, on a new policy, as a new
 * process makes it; returns what ctl_restore took up. */
static uint32_t reopen(void)
{
	char err[256];
	policy_destroy(pol);
	assert_int_equal(policy_create(&pol, &cfg, err, sizeof(err)), 0);
	assert_int_equal(ctl_open(&ctl, &cfg, pol, 1, DIALOGS, &hooks, setups_path, 0), 0);
	const struct shard_table *tables[] = {&table};
	return ctl_restore(ctl, tables, 1200);
}

static uint32_t restart(void)
{
	ctl_close(ctl);
	uint32_t n = reopen();
	for (uint32_t i = 0; i < table.hdr->dlg_hwm; i++) {
		const struct shard_dialog *d = &table.dialogs[i];
		if (d->state != SHARD_DLG_FREE && !ctl_keeps_dialog(ctl, 0, d))
			shard_dialog_free(&table, i);
	}
	ctl_adopt(ctl, 0, &table, 1200);
	nsent = ninstall = nevents = 0;
	return n;
}

/* What a tick sent: when, and a response's status (0 for a request) with the
 * Call-ID and port it went to. */
struct tick_send {
	uint64_t at;
	int status;
	uint8_t method; /* of a request */
	char call_id[40];
	uint16_t port;
};

/* Ticks every 10 ms over (from, to], as the daemon does, and logs what each
 * tick sent (sent[] is left as it was). Returns how many datagrams. */
static unsigned tick_through(uint64_t from, uint64_t to, struct tick_send *log, unsigned cap)
{
	unsigned base = nsent, n = 0;

	for (uint64_t t = from + 10; t <= to; t += 10) {
		ctl_on_tick(ctl, t);
		for (unsigned i = base; i < nsent; i++) {
			const struct sip_msg *s = sent_msg(i);
			assert_true(n < cap);
			log[n].at = t;
			log[n].status = s->is_request ? 0 : s->status;
			log[n].method = s->method_id;
			snprintf(log[n].call_id, sizeof(log[n].call_id), "%.*s",
				 (int)s->call_id.len, sent[i].buf + s->call_id.off);
			log[n].port = ntohs(sent[i].to.sin_port);
			n++;
		}
		nsent = base;
	}
	return n;
}

static void assert_tick_send(const struct tick_send *got, uint64_t at, int status,
			     const char *call_id, uint16_t port)
{
	if (got->at != at || got->status != status || strcmp(got->call_id, call_id) != 0 ||
	    got->port != port)
		fail_msg("at %llu: %d %s to port %u; expected at %llu: %d %s to port %u",
			 (unsigned long long)got->at, got->status, got->call_id, got->port,
			 (unsigned long long)at, status, call_id, port);
}

/* Timer G from a 486 at 1100 (T1 500 ms doubling up to T2 4 s), the last at
 * 32600, before Timer H frees the record at 33100. */
static const uint64_t timer_g_at[] = {1600,  2600,  4600,  8600,  12600,
				      16600, 20600, 24600, 28600, 32600};
/* Timer E of the no-answer CANCEL sent at 121000, until Timer F at 153000 */
static const uint64_t cancel_again_at[] = {121500, 122500, 124500, 128500, 132500,
					   136500, 140500, 144500, 148500, 152500};

/* Timer G: the final made or relayed at `at` again, T1 doubling to T2, until
 * Timer H (64*T1 after it). */
static void assert_timer_g(const struct tick_send *log, uint64_t at, int status,
			   const char *call_id)
{
	for (unsigned i = 0; i < 10; i++)
		assert_tick_send(&log[i], at + timer_g_at[i] - 1100, status, call_id, 5061);
}

static void assert_cancels_again(const struct tick_send *log, const char *b_call_id)
{
	for (unsigned i = 0; i < 10; i++) {
		assert_tick_send(&log[i], cancel_again_at[i], 0, b_call_id, 5090);
		assert_int_equal(log[i].method, SIP_METHOD_CANCEL);
	}
}

/* Leg B's Call-ID in the INVITE the controller sent last. */
static void last_b_call_id(char *id, size_t cap)
{
	const struct sip_msg *inv = sent_msg(nsent - 1);
	assert_int_equal(inv->method_id, SIP_METHOD_INVITE);
	snprintf(id, cap, "%.*s", (int)inv->call_id.len, sent[nsent - 1].buf + inv->call_id.off);
}

/* The timers of each state: Timer A resends leg B's INVITE from T1 doubling,
 * Timer B answers 408; Timer G resends a failure to the caller until Timer H;
 * a ringing call is left alone until timers.no_answer_s (120 s) after its
 * INVITE, when leg B gets a CANCEL, and, the callee answering neither, the
 * caller gets 408 64*T1 later and the early dialog is released. Each 408 made
 * here is resent by Timer G until Timer H, as a relayed failure is. Nothing
 * else is sent on any tick. */
static void test_timers_of_each_state(void **state)
{
	struct tick_send log[48];
	(void)state;

	char b1[40], b2[40]; /* leg B's Call-IDs of calls 1 and 2 */
	numbered_invite(1);  /* at 1000; bob never answers */
	last_b_call_id(b1, sizeof(b1));
	numbered_invite(2);
	last_b_call_id(b2, sizeof(b2));
	response_from_bob(nsent - 1, 180, "ring2"); /* at 1100: ringing */
	numbered_invite(3);
	response_from_bob(nsent - 1, 486, "busy3"); /* at 1100: completed */
	unsigned released = nrelease;

	unsigned n = tick_through(1100, 154000, log, 48);
	static const uint64_t timer_a_at[] = {1500, 2500, 4500, 8500, 16500, 32500};
	unsigned a = 0, g = 0, i = 0;
	while (i < n && log[i].at < 33000) {
		if (a < 6 && log[i].at == timer_a_at[a]) {
			assert_tick_send(&log[i++], timer_a_at[a++], 0, b1, 5090);
			continue;
		}
		assert_true(g < 10);
		assert_tick_send(&log[i++], timer_g_at[g++], 486, "n3@10.1.1.1", 5061);
	}
	assert_int_equal(a, 6);
	assert_int_equal(g, 10);
	assert_int_equal(n, i + 1 + 10 + 1 + 10 + 2);
	assert_tick_send(&log[i], 33000, 408, "n1@10.1.1.1", 5061); /* Timer B */
	assert_timer_g(&log[i + 1], 33000, 408, "n1@10.1.1.1");	    /* until alice ACKs */
	assert_tick_send(&log[i + 11], 121000, 0, b2, 5090);	    /* no answer */
	assert_int_equal(log[i + 11].method, SIP_METHOD_CANCEL);
	assert_cancels_again(&log[i + 12], b2); /* Timer E until bob answers it */
	assert_tick_send(&log[i + 22], 153000, 408, "n2@10.1.1.1", 5061);
	assert_tick_send(&log[i + 23], 153500, 408, "n2@10.1.1.1", 5061); /* Timer G */
	assert_int_equal(nrelease, released + 1);
	/* Timer G on until Timer H (185000); then nothing more */
	assert_int_equal(tick_through(154000, 186000, log, 48), 9);
	assert_int_equal(tick_through(186000, 200000, log, 48), 0);

	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_timeout, 2);
	/* the released early dialog counts until its worker says it ended */
	assert_int_equal(st.calls_active, 1);
}

/* A call nobody answers in timers.no_answer_s: leg B gets a CANCEL, its 487
 * is ACKed, and the caller gets 408 (not the 487), resent by Timer G until
 * its ACK; the CDR says timeout. */
static void test_no_answer_cancels_the_callee(void **state)
{
	struct tick_send log[32];
	(void)state;

	invite_from_alice(); /* at 1000 */
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "ringing");
	unsigned base = nsent;
	assert_int_equal(tick_through(1100, 120990, log, 32), 0);
	assert_int_equal(tick_through(120990, 121000, log, 32), 1);
	assert_int_equal(log[0].method, SIP_METHOD_CANCEL);
	assert_int_equal(log[0].port, 5090);
	assert_int_equal(ncdrs, 0);

	/* bob: 200 to the CANCEL (nothing to do), 487 to the INVITE */
	response_from_bob_at(inv, 487, "ringing", 121000);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(ntohs(sent[base].to.sin_port), 5090);
	assert_int_equal(sent_msg(base + 1)->status, 408);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5061);
	assert_int_equal(ncdrs, 1);
	assert_string_equal(cdr_str(0, "disposition"), "timeout");
	assert_int_equal(cdr_int(0, "status"), 408);
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_timeout, 1);
	assert_int_equal(st.calls_cancelled, 0);
	assert_int_equal(st.calls_failed, 0);

	/* the 408 again on Timer G, until alice ACKs */
	nsent = base;
	assert_int_equal(tick_through(121000, 121500, log, 32), 1);
	assert_int_equal(log[0].at, 121500);
	assert_int_equal(log[0].status, 408);
	ack_from_alice();
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.acks_absorbed, 1);
	assert_int_equal(tick_through(121500, 160000, log, 32), 0);
}

/* ---- failover (routes[].targets) ------------------------------------------ */

/* The last INVITE sent, and the port it went to. */
static unsigned last_invite_sent(uint16_t *port)
{
	for (unsigned i = nsent; i-- > 0;)
		if (sent_msg(i)->is_request && out.method_id == SIP_METHOD_INVITE) {
			*port = ntohs(sent[i].to.sin_port);
			return i;
		}
	fail_msg("no INVITE sent");
	return 0;
}

static struct sip_view_copy {
	char call_id[64], from_tag[64], branch[64];
	unsigned cseq;
} invite_ids(unsigned i)
{
	struct sip_view_copy v;
	const struct sip_msg *x = sent_msg(i);
	snprintf(v.call_id, sizeof(v.call_id), "%.*s", (int)x->call_id.len,
		 sent[i].buf + x->call_id.off);
	snprintf(v.from_tag, sizeof(v.from_tag), "%.*s", (int)x->from.tag.len,
		 sent[i].buf + x->from.tag.off);
	snprintf(v.branch, sizeof(v.branch), "%.*s", (int)x->vias[0].branch.len,
		 sent[i].buf + x->vias[0].branch.off);
	v.cseq = x->cseq.num;
	return v;
}

/* A 503 sends the INVITE on to the next target: the 503 ACKed where it came
 * from, a new transaction (branch, CSeq + 1) in the same leg B call, nothing
 * to alice but her 100; a retransmission of the old 503 is no longer the
 * call's; when every target refuses, alice gets the last answer, and the CDR
 * names the last target and how many were tried. */
static void test_failover_on_status(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	invite_from_alice();
	unsigned inv = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	struct sip_view_copy first = invite_ids(inv);
	assert_int_equal(first.cseq, 1);
	unsigned base = nsent;
	response_from_bob(inv, 503, "b1");
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(ntohs(sent[base].to.sin_port), 5090);
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(inv2, base + 1);
	assert_int_equal(port, 5091);
	struct sip_view_copy second = invite_ids(inv2);
	assert_string_equal(second.call_id, first.call_id);
	assert_string_equal(second.from_tag, first.from_tag);
	assert_string_not_equal(second.branch, first.branch);
	assert_int_equal(second.cseq, 2);
	const struct sip_msg *x = sent_msg(inv2);
	assert_true(sip_view_eq(sent[inv2].buf, x->ruri.whole, "sip:+15551234@127.0.0.1:5091", 28));
	assert_true(
	    sip_view_eq(sent[inv2].buf, x->to.uri.whole, "sip:+15551234@127.0.0.1:5091", 28));
	assert_int_equal(x->max_forwards, 69);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.failovers, 1);
	assert_int_equal(ncdrs, 0);

	/* the first target's 503 again (our ACK lost): ACKed again, from the
	 * 503 alone (its transaction's branch), and nothing else happens */
	base = nsent;
	response_from_bob(inv, 503, "b1");
	assert_int_equal(nsent, base + 1);
	x = sent_msg(base);
	assert_int_equal(x->method_id, SIP_METHOD_ACK);
	assert_int_equal(ntohs(sent[base].to.sin_port), 5090);
	assert_true(
	    sip_view_eq(sent[base].buf, x->vias[0].branch, first.branch, strlen(first.branch)));
	assert_true(sip_view_eq(sent[base].buf, x->to.tag, "b1", 2));
	assert_int_equal(x->cseq.num, 1);
	assert_true(sip_view_eq(sent[base].buf, x->ruri.whole, "sip:+15551234@127.0.0.1", 23));
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_finals_acked, 1);
	assert_int_equal(st.dropped_unknown_response, 0);

	/* 500 from the second, 503 from the third: alice gets it as 500 (RFC
	 * 3261 16.7 item 6), and so does the CDR */
	response_from_bob(inv2, 500, "b2");
	unsigned inv3 = last_invite_sent(&port);
	assert_int_equal(port, 5092);
	assert_int_equal(invite_ids(inv3).cseq, 3);
	base = nsent;
	response_from_bob(inv3, 503, "b3");
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(ntohs(sent[base].to.sin_port), 5092);
	assert_int_equal(sent_msg(base + 1)->status, 500);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5061);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.failovers, 2);
	assert_int_equal(st.calls_failed, 1);
	assert_int_equal(st.target_503_sent_as_500, 1);
	assert_int_equal(ncdrs, 1);
	assert_string_equal(cdr_str(0, "target"), "127.0.0.1:5092");
	assert_int_equal(cdr_int(0, "attempts"), 3);
	assert_string_equal(cdr_str(0, "route"), "trunk");
	assert_int_equal(cdr_int(0, "status"), 500);
	assert_iso_time(cdr_str(0, "start"));
}

/* The dialog follows the target that answers: the worker is given leg B at
 * the second target, with the INVITE's CSeq there. */
/* How the INVITEs to target 127.0.0.1:port ended, as ctl_get_targets has it. */
static void assert_target_counts(uint16_t port, uint64_t invites, uint64_t answered,
				 uint64_t rejected, uint64_t unanswered)
{
	struct ctl_target_info ti[8];
	size_t n = ctl_get_targets(ctl, ti, 8);
	for (size_t i = 0; i < n && i < 8; i++) {
		if (ntohs(((const struct sockaddr_in *)&ti[i].addr)->sin_port) != port)
			continue;
		assert_int_equal(ti[i].invites, invites);
		assert_int_equal(ti[i].answered, answered);
		assert_int_equal(ti[i].rejected, rejected);
		assert_int_equal(ti[i].unanswered, unanswered);
		return;
	}
	fail_msg("no target on port %u", port);
}

static void test_failover_answered_by_next_target(void **state)
{
	uint16_t port;
	(void)state;

	invite_from_alice();
	response_from_bob(last_invite_sent(&port), 408, NULL);
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(port, 5091);
	test_addr_in(&bob, "127.0.0.1", 5091); /* the answer comes from there */
	response_from_bob(inv2, 200, "b2");
	assert_int_equal(ninstall, 1);
	const struct sip_session *lb = &last_install.legs[SHARD_LEG_B];
	assert_int_equal(lb->invite_cseq, 2);
	assert_int_equal(lb->local_cseq, 2);
	assert_memory_equal(lb->remote_uri, "sip:+15551234@127.0.0.1:5091", lb->remote_uri_len);
	assert_int_equal(lb->remote_uri_len, 28);
	assert_int_equal(ntohs(((const struct sockaddr_in *)&lb->peer)->sin_port), 5091);
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);
	assert_target_counts(5090, 1, 0, 1, 0);
	assert_target_counts(5091, 1, 1, 0, 0);
	response_from_bob(inv2, 200, "b2"); /* a retransmission counts once */
	assert_target_counts(5091, 1, 1, 0, 0);
	assert_target_counts(5092, 0, 0, 0, 0);
	/* the dialog keeps the attempts, for the CDR of a restart */
	assert_int_equal(last_install.cdr.attempts, 2);
	assert_string_equal(last_install.cdr.route, "trunk");
	/* the workers answer challenges in the dialog as the route at the
	 * target that answered: its key, not the first target's */
	assert_int_equal(last_install.auth_key, route_key("trunk", "127.0.0.1:5091"));
	assert_int_not_equal(last_install.auth_key, route_key("trunk", "127.0.0.1:5090"));
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLEE);
	assert_int_equal(ncdrs, 1);
	assert_int_equal(cdr_int(0, "attempts"), 2);
	assert_carried_cdr_names_the_same(0, true);
}

/* A target that sends nothing is given up after failover_ms (Timer A
 * retransmits to it until then); a target that sent 100 Trying is not; the
 * last target waits the whole Timer B. */
static void test_failover_on_silence(void **state)
{
	uint16_t port;
	(void)state;

	invite_from_alice(); /* at 1000 */
	for (uint64_t t = 1010; t < 2000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned inv = last_invite_sent(&port);
	assert_int_equal(port, 5090); /* Timer A's retransmission at 1500 */
	unsigned base = nsent;
	ctl_on_tick(ctl, 2000);
	assert_int_equal(nsent, base + 1);
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(port, 5091);
	assert_int_not_equal(inv2, inv);
	/* the second target's 100 stops its clock: nothing at 3000 */
	response_from_bob_at(inv2, 100, NULL, 2100);
	base = nsent;
	for (uint64_t t = 2110; t <= 5000; t += 10)
		ctl_on_tick(ctl, t);
	assert_int_equal(nsent, base);
	/* it fails with 503 later: the third target, then silence until Timer B */
	response_from_bob_at(inv2, 503, NULL, 5000);
	assert_int_equal(last_invite_sent(&port), nsent - 1);
	assert_int_equal(port, 5092);
	base = nsent;
	for (uint64_t t = 5010; t < 5000 + 32000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned probes = 0;
	for (unsigned i = base; i < nsent; i++) {
		assert_true(sent_msg(i)->is_request);
		if (out.method_id == SIP_METHOD_OPTIONS) {
			/* 5090, down since 2000: probed every 5 s until 32000 */
			assert_int_equal(ntohs(sent[i].to.sin_port), 5090);
			probes++;
			continue;
		}
		assert_int_equal(ntohs(sent[i].to.sin_port), 5092);
	}
	assert_int_equal(probes, 5);
	unsigned before_b = nsent;
	ctl_on_tick(ctl, 5000 + 32000);
	assert_int_equal(nsent, before_b + 1);
	assert_int_equal(sent_msg(before_b)->status, 408);
	assert_int_equal(ntohs(sent[before_b].to.sin_port), 5061);
	assert_int_equal(cdr_int(0, "attempts"), 3);
	/* silence, a 503, silence until Timer B */
	assert_target_counts(5090, 1, 0, 0, 1);
	assert_target_counts(5091, 1, 0, 1, 0);
	assert_target_counts(5092, 1, 0, 0, 1);
	assert_string_equal(cdr_str(0, "disposition"), "timeout");
}

/* No failover once the callee rang, for a status not in failover_on, after
 * alice's CANCEL, or when a reload changed the route. */
static void test_no_failover(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	char err[256];
	(void)state;

	/* rang, then 503: relayed, as 500 */
	numbered_invite(1);
	unsigned inv = last_invite_sent(&port);
	response_from_bob(inv, 180, "r1");
	response_from_bob(inv, 503, "r1");
	assert_int_equal(sent_msg(nsent - 1)->status, 500);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);

	/* 486 is not in the default failover_on */
	numbered_invite(2);
	response_from_bob(last_invite_sent(&port), 486, "r2");
	assert_int_equal(sent_msg(nsent - 1)->status, 486);

	/* cancelled: the 487 goes to alice */
	invite_from_alice();
	inv = last_invite_sent(&port);
	response_from_bob(inv, 100, NULL);
	cancel_from_alice();
	response_from_bob(inv, 487, "r3");
	assert_int_equal(sent_msg(nsent - 1)->status, 487);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);

	/* the route's targets change in a reload: the call keeps its target */
	numbered_invite(4);
	inv = last_invite_sent(&port);
	static struct config next;
	struct policy *np;
	assert_int_equal(config_load_string(&next,
					    "{\"routes\": [{\"name\": \"trunk\", \"targets\": "
					    "[\"127.0.0.1:5090\", \"127.0.0.1:5093\"]}]}",
					    err, sizeof(err)),
			 0);
	assert_int_equal(policy_create(&np, &next, err, sizeof(err)), 0);
	policy_inherit(np, pol, 0);
	ctl_set_policy(ctl, np);
	policy_destroy(pol);
	pol = np;
	response_from_bob(inv, 503, "r4");
	assert_int_equal(sent_msg(nsent - 1)->status, 500);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);
	/* and a call made after the reload takes the new route's second target */
	numbered_invite(5);
	response_from_bob(last_invite_sent(&port), 503, "r5");
	last_invite_sent(&port);
	assert_int_equal(port, 5093);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.failovers, 1);
}

/* A target silent for failover_ms is skipped by new calls for down_s (30 s
 * by default), then tried again; a target that answers a call in flight is
 * not down any more. */
static void test_silent_target_skipped(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1); /* at 1000, to 5090 */
	alice_now = 1500;
	numbered_invite(2); /* to 5090 too */
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	for (uint64_t t = 1010; t <= 2000; t += 10)
		ctl_on_tick(ctl, t);
	assert_int_equal(last_invite_sent(&port), nsent - 1);
	assert_int_equal(port, 5091); /* call 1 moved on */
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_marked_down, 1);
	assert_int_equal(st.targets_down, 1);

	/* a new call skips 5090; its CDR counts one attempt */
	alice_now = 2010;
	numbered_invite(3);
	last_invite_sent(&port);
	assert_int_equal(port, 5091);

	/* 5090 rings for call 2, sent before it was found silent: up again */
	response_from_bob_at(inv2, 180, "c2", 2020);
	ctl_on_tick(ctl, 2030);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 0);
	alice_now = 2040;
	numbered_invite(4);
	last_invite_sent(&port);
	assert_int_equal(port, 5090);

	/* silent again (call 4 at 3040): down for 30 s, then tried again */
	for (uint64_t t = 2050; t <= 3040; t += 10)
		ctl_on_tick(ctl, t);
	ctl_get_stats(ctl, &st);
	/* 5091 too (calls 1 and 3, silent there since 2000 and 2010), until 33010 */
	assert_int_equal(st.targets_marked_down, 3);
	alice_now = 33030;
	numbered_invite(5);
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
	alice_now = 33050;
	numbered_invite(6);
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
}

/* With every target down, a call tries each in turn, as if none were. */
static void test_all_targets_down(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1); /* 5090 at 1000, 5091 at 2000, 5092 at 3000 */
	uint64_t t = 1010;
	for (; t <= 3000; t += 10)
		ctl_on_tick(ctl, t);
	last_invite_sent(&port);
	assert_int_equal(port, 5092);
	/* the last target has until Timer B, 32 s after its INVITE */
	for (; t <= 3000 + 32000; t += 10)
		ctl_on_tick(ctl, t);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_marked_down, 3);
	assert_int_equal(st.targets_down, 3);
	assert_int_equal(st.calls_timeout, 1);
	assert_int_equal(cdr_int(0, "attempts"), 3);

	alice_now = t;
	numbered_invite(2);
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
	response_from_bob_at(last_invite_sent(&port), 503, NULL, t + 10);
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
}

/* A target two routes share, marked down by one route's call for its long
 * down_s, stays down that long when the other route's call finds it silent
 * too: that route's shorter down_s does not cut the down time short (it was
 * replaced: a new call of the first route went to the silent target 4 s
 * later), and the target is marked down once. */
static void test_shared_target_down_not_shortened(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1000); /* route a, to 5090 at 1000 */
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
	alice_now = 1500;
	numbered_invite(2000); /* route b, to 5090 too */
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
	/* 5090 silent to call a at 2000: down for 60 s */
	for (uint64_t t = 1010; t <= 2000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned inv = last_invite_sent(&port);
	assert_int_equal(port, 5091); /* call a moved on */
	test_addr_in(&bob, "127.0.0.1", 5091);
	response_from_bob_at(inv, 100, NULL, 2010);
	/* and to call b at 2500, whose route would mark it down for 3 s */
	for (uint64_t t = 2010; t <= 2500; t += 10)
		ctl_on_tick(ctl, t);
	inv = last_invite_sent(&port);
	assert_int_equal(port, 5092); /* call b moved on */
	test_addr_in(&bob, "127.0.0.1", 5092);
	response_from_bob_at(inv, 100, NULL, 2510);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_marked_down, 1);
	assert_int_equal(st.targets_down, 1);
	for (uint64_t t = 2520; t <= 7000; t += 10)
		ctl_on_tick(ctl, t);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 1); /* until 62000 */
	alice_now = 7010;
	numbered_invite(1001); /* route a: past 5090 */
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
	alice_now = 7020;
	numbered_invite(2001); /* route b: past 5090 as well */
	last_invite_sent(&port);
	assert_int_equal(port, 5092);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_marked_down, 1);
}

/* A call whose target turns out silent when the route's other targets are
 * down already (found silent by another route's call) has every target of
 * its route down: it goes on to the next one as a call that finds them all
 * down at its start does (examples/CONFIG.md: "try those not full in order
 * as if none were down"), rather than waiting on the silent one until
 * Timer B and the caller's 408. */
static void test_failover_when_every_target_goes_down(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1000); /* route c: 5091 at 1000, silent: down at 2000 */
	for (uint64_t t = 1010; t <= 2000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned inv = last_invite_sent(&port);
	assert_int_equal(port, 5092);
	test_addr_in(&bob, "127.0.0.1", 5092);
	response_from_bob_at(inv, 100, NULL, 2010);

	alice_now = 2020;
	numbered_invite(2000); /* route r: 5090, up, at 2020 */
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
	/* 5090 silent at 3020: both of route r's targets are down now */
	for (uint64_t t = 2030; t <= 3020; t += 10)
		ctl_on_tick(ctl, t);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 2);
	inv = last_invite_sent(&port);
	assert_int_equal(port, 5091);
	assert_int_equal(st.failovers, 2);
	/* 5091 is back: the call is answered there */
	test_addr_in(&bob, "127.0.0.1", 5091);
	response_from_bob_at(inv, 200, "r1", 3100);
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 1); /* 5091 answers again */
}

/* The same when the call's target answers 503 with Retry-After, which
 * takes it out of service, while the route's other target is down: the
 * call goes on there (it once ended with the 503, the caller getting 500). */
static void test_failover_when_a_503_takes_the_last_target_out(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1000); /* route c: 5091 at 1000, silent: down at 2000 */
	for (uint64_t t = 1010; t <= 2000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned inv = last_invite_sent(&port);
	assert_int_equal(port, 5092);
	test_addr_in(&bob, "127.0.0.1", 5092);
	response_from_bob_at(inv, 100, NULL, 2010);

	alice_now = 2020;
	numbered_invite(2000); /* route r: 5090 at 2020 */
	inv = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	test_addr_in(&bob, "127.0.0.1", 5090);
	unsigned base = nsent;
	response_from_bob_with(inv, 503, "x", "Retry-After: 60\r\n", 2100);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 2);
	inv = last_invite_sent(&port);
	assert_true(inv >= base);
	assert_int_equal(port, 5091);
	for (unsigned i = base; i < nsent; i++)
		assert_false(ntohs(sent[i].to.sin_port) == 5061 && !sent_msg(i)->is_request &&
			     out.status >= 200);
	test_addr_in(&bob, "127.0.0.1", 5091);
	response_from_bob_at(inv, 200, "r1", 2200);
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);
}

/* The calls counting on a target, by its port (ctl_get_targets). */
static uint32_t target_calls(uint16_t port)
{
	struct ctl_target_info t[8];
	size_t n = ctl_get_targets(ctl, t, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		if (ntohs(((const struct sockaddr_in *)&t[i].addr)->sin_port) == port)
			return t[i].calls;
	fail_msg("no target on port %u", port);
	return 0;
}

/* targets[].max_calls: a full target is skipped, a call that ends (set-up
 * failed, or its dialog ended) gives its place back, a route whose targets
 * are all full answers 503, and failover does not go to a full target. */
static void test_target_max_calls(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1);
	unsigned inv1 = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	numbered_invite(2);
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	numbered_invite(3);
	unsigned inv3 = last_invite_sent(&port);
	assert_int_equal(port, 5091);
	assert_int_equal(target_calls(5090), 2);
	assert_int_equal(target_calls(5091), 1);

	/* all full: 503, no INVITE */
	unsigned base = nsent;
	numbered_invite(4);
	assert_int_equal(nsent, base + 1);
	assert_int_equal(sent_msg(base)->status, 503);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_target_full, 1);

	/* call 1 fails (486): its place on 5090 is free again */
	response_from_bob(inv1, 486, "l1");
	assert_int_equal(target_calls(5090), 1);
	numbered_invite(5);
	unsigned inv5 = last_invite_sent(&port);
	assert_int_equal(port, 5090);

	/* call 2 is answered: it counts until its dialog ends */
	response_from_bob(inv2, 200, "l2");
	assert_int_equal(target_calls(5090), 2);
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLER);
	assert_int_equal(target_calls(5090), 1);

	/* call 5 gets 503 at 5090 while 5091 is full: no failover, the 503
	 * goes to alice (as 500), and 5090 is back to none */
	base = nsent;
	response_from_bob(inv5, 503, "l5");
	assert_int_equal(nsent, base + 2); /* the ACK, the 500 to alice */
	assert_int_equal(sent_msg(base + 1)->status, 500);
	assert_int_equal(target_calls(5090), 0);

	/* call 3 fails: a call fails over from 5090 to the free 5091 */
	response_from_bob(inv3, 480, "l3");
	assert_int_equal(target_calls(5091), 0);
	numbered_invite(6);
	response_from_bob(last_invite_sent(&port), 503, "l6");
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
	assert_int_equal(target_calls(5090), 0);
	assert_int_equal(target_calls(5091), 1);
}

/* A caller may end an early dialog with a BYE (RFC 3261 15): the worker
 * frees the slot and reports it, which gives the call's place on its target
 * back, and the pool hands the slot to the next INVITE. The callee's final
 * to the first call (a 487 after the BYE, or a 503 with Retry-After) must
 * then leave the new call's count and target alone: it took the next
 * call's place off 5090, which then carried more than its max_calls. */
static void test_final_after_early_bye_leaves_the_next_call_alone(void **state)
{
	uint16_t port;
	(void)state;

	numbered_invite(1);
	unsigned inv1 = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	response_from_bob(inv1, 180, "l1");
	assert_int_equal(ninstall, 1);
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLER);
	assert_int_equal(target_calls(5090), 0);

	numbered_invite(2); /* takes the slot call 1 had */
	assert_int_equal(last_invite_sent(&port) > inv1, true);
	assert_int_equal(port, 5090);
	assert_int_equal(target_calls(5090), 1);

	/* call 1's callee ends its INVITE, asking for a pause: call 2 still
	 * counts on 5090, and 5090 is out of service (call 1 was there) */
	response_from_bob_with(inv1, 503, "l1", "Retry-After: 60\r\n", 1100);
	assert_int_equal(target_calls(5090), 1);
	numbered_invite(3);
	assert_int_equal(target_calls(5090), 1);
	assert_int_equal(target_calls(5091), 1);
	/* 5090's max_calls (2) holds: a fourth call finds the route full */
	numbered_invite(4);
	numbered_invite(5);
	assert_true(target_calls(5090) <= 2);
}

/* The target answers sent[i] (a request) with status, as sip_respond does;
 * with forge, the branch's last character is changed first (a forged
 * answer). */
static void target_answers_sent(unsigned i, int status, bool forge, uint64_t now)
{
	static char copy[4096];
	const struct sip_msg *req = sent_msg(i);
	memcpy(copy, sent[i].buf, sent[i].len);
	if (forge)
		copy[req->vias[0].branch.off + req->vias[0].branch.len - 1] ^= 1;
	assert_int_equal(sip_parse(&out, copy, sent[i].len, NULL), 0);
	int n = sip_respond(&out, status, NULL, "t", NULL, in, sizeof(in));
	assert_true(n > 0);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	ctl_on_datagram(ctl, 0, &m, (const struct sockaddr *)&bob, sizeof(bob), now);
}

/* A 2xx from a target the call failed over from is ACKed and ended with a
 * BYE, sent where it came from; the call goes on at its new target. A 2xx
 * that names another Call-ID is not taken for one. */
static void test_stale_answer_ended(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	invite_from_alice(); /* 5090 at 1000, silent */
	unsigned inv1 = last_invite_sent(&port);
	struct sent first = sent[inv1];
	for (uint64_t t = 1010; t <= 2000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(port, 5091);

	sent[nsent] = first; /* 5090 answers its INVITE after all */
	unsigned old = nsent++;
	unsigned base = nsent;
	response_from_bob_at(old, 200, "late", 2100);
	assert_int_equal(nsent, base + 2);
	const struct sip_msg *x = sent_msg(base);
	assert_int_equal(x->method_id, SIP_METHOD_ACK);
	assert_true(sip_view_eq(sent[base].buf, x->ruri.whole, "sip:bob@127.0.0.1:5090", 22));
	assert_true(sip_view_eq(sent[base].buf, x->to.tag, "late", 4));
	assert_int_equal(x->cseq.num, 1);
	assert_int_equal(ntohs(sent[base].to.sin_port), 5090);
	x = sent_msg(base + 1);
	assert_int_equal(x->method_id, SIP_METHOD_BYE);
	assert_int_equal(x->cseq.num, setup_bye_cseq(1));
	assert_true(sip_view_eq(sent[base + 1].buf, x->to.tag, "late", 4));
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5090);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, 1);
	assert_int_equal(ninstall, 0);

	/* the same branch with another Call-ID: no one's */
	char *cid = memmem(sent[old].buf, sent[old].len, "Call-ID: ", 9);
	assert_non_null(cid);
	cid[9] ^= 1;
	base = nsent;
	response_from_bob_at(old, 200, "late", 2200);
	assert_int_equal(nsent, base);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, 1);
	assert_int_equal(st.dropped_unknown_response, 1);

	/* the call is answered at 5091 */
	test_addr_in(&bob, "127.0.0.1", 5091);
	response_from_bob_at(inv2, 200, "b2", 2300);
	assert_int_equal(ninstall, 1);
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);
}

/* A target that is down gets an OPTIONS every probe_s (5 s by default); its
 * answer, whatever the status, makes it up at once; an answer with another
 * branch does not. */
static void test_down_target_probed(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1); /* 5090 at 1000: silent, down at 2000 */
	for (uint64_t t = 1010; t < 7000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned base = nsent;
	ctl_on_tick(ctl, 7000);
	assert_int_equal(nsent, base + 1);
	const struct sip_msg *o = sent_msg(base);
	assert_int_equal(o->method_id, SIP_METHOD_OPTIONS);
	assert_int_equal(ntohs(sent[base].to.sin_port), 5090);
	assert_true(sip_view_eq(sent[base].buf, o->ruri.whole, "sip:127.0.0.1:5090", 18));
	assert_memory_equal(sent[base].buf + o->vias[0].branch.off, "z9hG4bKscp", 10);
	assert_int_equal(o->max_forwards, 70);

	target_answers_sent(base, 404, true, 7100);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 2); /* 5091 too, silent since 2000 */
	assert_int_equal(st.probes_answered, 0);
	assert_int_equal(st.dropped_unknown_response, 1);

	target_answers_sent(base, 404, false, 7100); /* any answer: a SIP stack is there */
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 1);
	assert_int_equal(st.probes_sent, 1); /* 5091 (down at 3000) gets its first at 8000 */
	assert_int_equal(st.probes_answered, 1);
	alice_now = 7200;
	numbered_invite(2);
	response_from_bob_at(last_invite_sent(&port), 100, NULL, 7300);
	assert_int_equal(port, 5090);
	/* no more probes to 5090; 5091 gets its own */
	base = nsent;
	for (uint64_t t = 7010; t < 20000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned probes = 0;
	for (unsigned i = base; i < nsent; i++)
		if (sent_msg(i)->method_id == SIP_METHOD_OPTIONS) {
			assert_int_equal(ntohs(sent[i].to.sin_port), 5091);
			probes++;
		}
	assert_int_equal(probes, 3); /* at 8000, 13000, 18000 */
}

/* Ticks from `from` to `to` every 10 ms; each OPTIONS sent is answered 200
 * at once, but those to port `silent`, whose times are noted in at[]
 * (*nat of them). */
static void tick_answering_options(uint64_t from, uint64_t to, uint16_t silent, uint64_t *at,
				   unsigned *nat)
{
	for (uint64_t t = from; t <= to; t += 10) {
		unsigned base = nsent;
		ctl_on_tick(ctl, t);
		for (unsigned i = base; i < nsent; i++) {
			if (sent_msg(i)->method_id != SIP_METHOD_OPTIONS)
				continue;
			if (ntohs(sent[i].to.sin_port) == silent)
				at[(*nat)++] = t;
			else
				target_answers_sent(i, 200, false, t);
		}
	}
}

/* routes[].keepalive_s: every target that is up gets an OPTIONS every
 * keepalive_s (the first at once); one that answers none within failover_ms
 * is down before any call waited on it, probed every probe_s while down,
 * and kept alive again once it answers. */
static void test_keepalive_finds_target_down(void **state)
{
	struct ctl_stats st;
	uint16_t port;
	uint64_t at[16];
	unsigned nat = 0;
	(void)state;

	ctl_on_tick(ctl, 1000);
	assert_int_equal(nsent, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(sent_msg(i)->method_id, SIP_METHOD_OPTIONS);
		assert_int_equal(ntohs(sent[i].to.sin_port), 5090 + i);
	}
	target_answers_sent(1, 200, false, 1100);
	target_answers_sent(2, 405, false, 1130); /* any status: a SIP stack answered */
	struct ctl_target_info ti[4];
	assert_int_equal(ctl_get_targets(ctl, ti, 4), 3);
	assert_int_equal(ti[0].rtt_ms, -1); /* 5090: none answered yet */
	assert_int_equal(ti[1].rtt_ms, 100);
	assert_int_equal(ti[2].rtt_ms, 130);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.keepalives_sent, 3);
	assert_int_equal(st.keepalives_answered, 2);
	assert_int_equal(st.targets_down, 0);

	/* 5090 sent nothing for failover_ms: down at 2000, before any call */
	tick_answering_options(1010, 1990, 5090, at, &nat);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 0);
	tick_answering_options(2000, 2000, 5090, at, &nat);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.keepalives_missed, 1);
	assert_int_equal(st.targets_marked_down, 1);
	assert_int_equal(st.targets_down, 1);
	alice_now = 2100;
	numbered_invite(1);
	response_from_bob_at(last_invite_sent(&port), 100, NULL, 2150); /* not silent */
	assert_int_equal(port, 5091); /* straight past 5090, no failover_ms lost */

	/* the others kept alive at 3000, 5000, 7000; 5090 probed at 7000 */
	tick_answering_options(2010, 7000, 5090, at, &nat);
	assert_int_equal(nat, 1);
	assert_int_equal(at[0], 7000);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.keepalives_sent, 3 + 6);
	assert_int_equal(st.keepalives_answered, 2 + 6);
	assert_int_equal(st.probes_sent, 1);
	assert_int_equal(st.targets_down, 1);

	/* its answer ends down; its keep-alives start again 2 s on */
	unsigned probe = nsent - 1;
	while (ntohs(sent[probe].to.sin_port) != 5090)
		probe--;
	assert_int_equal(sent_msg(probe)->method_id, SIP_METHOD_OPTIONS);
	target_answers_sent(probe, 200, false, 7050);
	assert_int_equal(ctl_get_targets(ctl, ti, 4), 3);
	assert_int_equal(ti[0].rtt_ms, 50); /* its probe's, sent at 7000 */
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.probes_answered, 1);
	assert_int_equal(st.targets_down, 0);
	tick_answering_options(7010, 9000, 5090, at, &nat);
	assert_int_equal(nat, 2);
	assert_int_equal(at[1], 9000);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.keepalives_sent, 3 + 6 + 3);
}

/* A route with keepalive_s whose down_s is 0: an unanswered keep-alive is
 * counted and logged, and the target stays in use (nothing is down). */
static void test_keepalive_without_down(void **state)
{
	struct ctl_stats st;
	uint64_t at[16];
	unsigned nat = 0;
	(void)state;

	tick_answering_options(1000, 5000, 5090, at, &nat);
	assert_int_equal(nat, 3); /* 1000, 3000, 5000: unanswered, sent again */
	assert_int_equal(at[1], 3000);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.keepalives_missed, 2);
	assert_int_equal(st.targets_marked_down, 0);
	assert_int_equal(st.targets_down, 0);
	assert_int_equal(st.probes_sent, 0);
}

/* ctl_get_targets' entry for 127.0.0.1:port, as of the last tick. */
static struct ctl_target_info target_info(uint16_t port)
{
	struct ctl_target_info ti[8];
	size_t n = ctl_get_targets(ctl, ti, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		if (ntohs(((const struct sockaddr_in *)&ti[i].addr)->sin_port) == port)
			return ti[i];
	fail_msg("no target on port %u", port);
	return ti[0];
}

/* Ticks from `from` to `to` every 10 ms, forgetting what each tick sent;
 * returns how many OPTIONS went to port. */
static unsigned options_sent_to(uint64_t from, uint64_t to, uint16_t port)
{
	unsigned n = 0;
	for (uint64_t t = from; t <= to; t += 10) {
		unsigned base = nsent;
		ctl_on_tick(ctl, t);
		for (unsigned i = base; i < nsent; i++)
			n += sent_msg(i)->method_id == SIP_METHOD_OPTIONS &&
			     ntohs(sent[i].to.sin_port) == port;
		nsent = base;
	}
	return n;
}

/* RFC 3261 21.5.4, RFC 3263 4.3: a target that answers 503 with Retry-After
 * is out of service for that long: new calls skip it as a down one (not
 * counted as found silent), it gets no OPTIONS meanwhile, its answer to a
 * call still in flight there does not end it early, and after it the next
 * call tries it again. */
static void test_503_retry_after_takes_target_out(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1); /* both to 5090 at 1000 */
	unsigned inv1 = last_invite_sent(&port);
	numbered_invite(3);
	unsigned inv3 = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	response_from_bob_at(inv3, 100, NULL, 1050);
	response_from_bob_with(inv1, 503, "r1", "Retry-After: 60\r\n", 1100);
	unsigned inv1b = last_invite_sent(&port);
	assert_int_equal(port, 5091); /* failed over as before */
	response_from_bob_at(inv1b, 100, NULL, 1150);
	ctl_on_tick(ctl, 1160);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_retry_after, 1);
	assert_int_equal(st.targets_down, 1);
	assert_int_equal(st.targets_marked_down, 0);
	struct ctl_target_info ti = target_info(5090);
	assert_true(ti.down);
	assert_int_equal(ti.retry_after_s, 60); /* 59.94 s left, rounded up */

	/* 5090 rings for call 3, sent before its 503: still out */
	response_from_bob_at(inv3, 180, "c3", 1200);
	ctl_on_tick(ctl, 1210);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 1);
	alice_now = 1300;
	numbered_invite(2);
	response_from_bob_at(last_invite_sent(&port), 100, NULL, 1310);
	assert_int_equal(port, 5091);

	/* no OPTIONS to it while it is out; back when the 60 s are over */
	assert_int_equal(options_sent_to(1320, 61090, 5090), 0);
	alice_now = 61090;
	numbered_invite(4);
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
	alice_now = 61100;
	numbered_invite(5);
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
	ctl_on_tick(ctl, 61110);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 0);
	assert_int_equal(target_info(5090).retry_after_s, 0);
}

/* RFC 3263 4.3: a target the call left after failover_ms of silence that
 * then answers 503 with Retry-After (an overloaded server, late) is out of
 * service for that time as any other: not only for down_s, and not brought
 * back by the answer to a probe meanwhile. */
static void test_left_target_503_retry_after(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1); /* to 5090 at 1000 */
	unsigned inv1 = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	for (uint64_t t = 1010; t <= 2000; t += 10)
		ctl_on_tick(ctl, t);
	last_invite_sent(&port);
	assert_int_equal(port, 5091); /* left after failover_ms */
	unsigned base = nsent;
	response_from_bob_with(inv1, 503, "r1", "Retry-After: 120\r\n", 2500);
	assert_int_equal(nsent, base + 1); /* ACKed, as before */
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	ctl_on_tick(ctl, 2510);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_retry_after, 1);
	assert_int_equal(target_info(5090).retry_after_s, 120);
	/* no probe meanwhile, and still out after down_s (30 s) */
	assert_int_equal(options_sent_to(2520, 40000, 5090), 0);
	alice_now = 40000;
	numbered_invite(2);
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
}

/* RFC 3263 4.3: an OPTIONS answered 503 with Retry-After asks, as an
 * INVITE's would, for no requests for that long: a keep-alive so answered
 * takes its target out for that time, and a probe so answered does not
 * bring a down target back before it. */
static void options_answered_503(unsigned i, uint64_t now)
{
	static char copy[4096];
	memcpy(copy, sent[i].buf, sent[i].len);
	assert_int_equal(sip_parse(&out, copy, sent[i].len, NULL), 0);
	int n = sip_respond(&out, 503, NULL, "t", "Retry-After: 60\r\n", in, sizeof(in));
	assert_true(n > 0);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	ctl_on_datagram(ctl, 0, &m, (const struct sockaddr *)&bob, sizeof(bob), now);
}

static void test_options_503_retry_after(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	ctl_on_tick(ctl, 1000); /* a keep-alive to each target */
	assert_int_equal(nsent, 3);
	assert_int_equal(ntohs(sent[0].to.sin_port), 5090);
	options_answered_503(0, 1050);
	ctl_on_tick(ctl, 1060);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_retry_after, 1);
	assert_true(target_info(5090).down);
	alice_now = 1100;
	numbered_invite(1);
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
}

/* The same for a probe of a target found silent: still down after it. */
static void test_probe_503_retry_after(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1); /* 5090 at 1000: silent, down at 2000, probed at 7000 */
	for (uint64_t t = 1010; t < 7000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned base = nsent;
	ctl_on_tick(ctl, 7000);
	assert_int_equal(nsent, base + 1);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_OPTIONS);
	options_answered_503(base, 7100);
	ctl_on_tick(ctl, 7110);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_retry_after, 1);
	assert_int_equal(target_info(5090).retry_after_s, 60);
	alice_now = 7200;
	numbered_invite(2);
	last_invite_sent(&port);
	assert_int_equal(port, 5092); /* 5091 is down too: silent to call 1 since 2000 */
}

/* Retry-After 0, or none: the target stays in use (a 503 in failover_on
 * still sends the call on); a comment and parameters after the seconds are
 * read past; more than 300 s is taken as 300. */
static void test_503_retry_after_bounds(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1);
	response_from_bob(last_invite_sent(&port), 503, "r1");
	assert_int_equal(last_invite_sent(&port), nsent - 1);
	assert_int_equal(port, 5091);
	numbered_invite(2);
	response_from_bob_with(last_invite_sent(&port), 503, "r2", "Retry-After: 0\r\n", 1100);
	ctl_on_tick(ctl, 1110);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_retry_after, 0);
	assert_int_equal(st.targets_down, 0);
	numbered_invite(3);
	unsigned inv3 = last_invite_sent(&port);
	assert_int_equal(port, 5090);

	response_from_bob_with(inv3, 503, "r3", "Retry-After: 18000 (maintenance);duration=60\r\n",
			       1200);
	ctl_on_tick(ctl, 1200);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_retry_after, 1);
	assert_int_equal(st.targets_down, 1);
	assert_int_equal(target_info(5090).retry_after_s, 300);
	alice_now = 1200 + 299990;
	numbered_invite(4);
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
	alice_now = 1200 + 300000;
	numbered_invite(5);
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
}

/* dns_refresh_s: a policy made of what a refresh put in service
 * (config_in_service). A route that lost a target at the address of an
 * earlier one fails over to the next other address, not to the same one
 * again; a call in set-up when the route changed does not fail over (its
 * tag is another). */
static void test_refreshed_routes(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	char err[256];
	static struct config next, svc;
	struct policy *np;
	(void)state;

	numbered_invite(1); /* in set-up at 5090 across the change */
	unsigned inv1 = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	/* route trunk: 5091 moved onto 5090's address */
	assert_int_equal(config_load_string(&next,
					    SMALL_CONFIG_HEAD
					    " \"routes\": [{\"name\": \"trunk\", \"targets\": "
					    "[\"127.0.0.1:5090\", \"127.0.0.1:5091\", "
					    "\"127.0.0.1:5092\"]}]}",
					    err, sizeof(err)),
			 0);
	struct config_target *moved = &next.routes[0].targets[1];
	memcpy(&moved->addr, &next.routes[0].targets[0].addr, sizeof(moved->addr));
	struct config_left_out left[4];
	assert_int_equal(config_in_service(&next, &svc, left, 4), 1);
	assert_int_equal(svc.routes[0].ntargets, 2);
	assert_int_equal(policy_create(&np, &svc, err, sizeof(err)), 0);
	policy_inherit(np, pol, 0);
	ctl_set_policy(ctl, np);
	policy_destroy(pol);
	pol = np;

	/* 5090's 503 sends the call on to 5092, 5090 only once */
	numbered_invite(2);
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
	response_from_bob(last_invite_sent(&port), 503, "m2");
	last_invite_sent(&port);
	assert_int_equal(port, 5092);
	/* the call from before the change: its 503 ends it (no failover) */
	unsigned base = nsent;
	response_from_bob(inv1, 503, "m1");
	assert_int_equal(nsent, base + 2); /* the ACK, the 500 to alice */
	assert_int_equal(sent_msg(base + 1)->status, 500);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.failovers, 1);
	config_free(&next);
	config_free(&svc);
}

/* dns_refresh_s: a route a refresh left without a target in service (its
 * SRV records all say ".": config_in_service) answers its INVITEs 503 with
 * Retry-After, counted apart from a route whose targets are full, and sends
 * nothing on leg B; the call in set-up on it when that came neither fails
 * over nor breaks (its tag is another). */
static void test_route_without_targets(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	char err[256];
	static struct config next, svc;
	struct policy *np;
	(void)state;

	numbered_invite(1); /* in set-up at 5090 across the change */
	unsigned inv1 = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	assert_int_equal(config_load_string(&next, failover_config, err, sizeof(err)), 0);
	for (unsigned t = 0; t < next.routes[0].ntargets; t++) {
		struct config_target *none = &next.routes[0].targets[t];
		snprintf(none->domain, sizeof(none->domain), "none.example");
		memcpy(none->text, none->domain, sizeof(none->text));
		none->no_service = true;
		none->addr_len = 0;
	}
	assert_int_equal(config_in_service(&next, &svc, NULL, 0), 3);
	assert_int_equal(svc.routes[0].ntargets, 0);
	assert_int_equal(policy_create(&np, &svc, err, sizeof(err)), 0);
	policy_inherit(np, pol, 0);
	ctl_set_policy(ctl, np);
	policy_destroy(pol);
	pol = np;

	unsigned base = nsent;
	numbered_invite(2);
	assert_int_equal(nsent, base + 1);
	assert_int_equal(sent_msg(base)->status, 503);
	assert_non_null(sip_find_hdr(sent_msg(base), SIP_HDR_RETRY_AFTER));
	assert_int_equal(ntohs(sent[base].to.sin_port), 5061);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_no_target, 1);
	assert_int_equal(st.rejected_target_full, 0);
	/* the call from before: its 503 ends it, as 500 */
	base = nsent;
	response_from_bob(inv1, 503, "m1");
	assert_int_equal(nsent, base + 2); /* the ACK, the 500 to alice */
	assert_int_equal(sent_msg(base + 1)->status, 500);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.failovers, 0);
	config_free(&next);
	config_free(&svc);
}

/* A route whose failover_on leaves 503 out: the 503 goes to the caller, as
 * "500 Server Internal Error" without its Retry-After (RFC 3261 16.7 item 6:
 * a 503 from us would take sipshard out, not the target) but with the rest
 * of it, and its target is out for the Retry-After all the same. */
static void test_503_retry_after_without_failover(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1);
	unsigned base = nsent;
	response_from_bob_with(last_invite_sent(&port), 503, "r1",
			       "Retry-After: 10\r\nReason: Q.850;cause=42\r\n", 1100);
	assert_int_equal(nsent, base + 2); /* the ACK, the 500 to alice */
	const struct sip_msg *got = sent_msg(base + 1);
	assert_int_equal(got->status, 500);
	assert_true(sip_view_eq(got->buf, got->reason, "Server Internal Error", 21));
	assert_null(sip_find_hdr(got, SIP_HDR_RETRY_AFTER));
	assert_non_null(memmem(got->buf, sent[base + 1].len, "\r\nReason: Q.850;cause=42\r\n", 26));
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5061);
	ctl_on_tick(ctl, 1110);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.failovers, 0);
	assert_int_equal(st.targets_retry_after, 1);
	assert_int_equal(st.target_503_sent_as_500, 1);
	numbered_invite(2);
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
}

/* A target down for silence and probed: a 503 with Retry-After from it (to a
 * call that was there before) keeps it out until the Retry-After is over,
 * even when it answers the OPTIONS sent before; no probe goes to it until
 * then. */
static void test_503_retry_after_outlasts_a_probe_answer(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1); /* 5090 at 1000: silent, down at 2000 */
	alice_now = 1500;
	numbered_invite(2); /* to 5090 too; its 100 keeps it in flight */
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	response_from_bob_at(inv2, 100, NULL, 1600);
	for (uint64_t t = 1010; t < 7000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned probe = nsent;
	ctl_on_tick(ctl, 7000);
	assert_int_equal(nsent, probe + 1);
	assert_int_equal(sent_msg(probe)->method_id, SIP_METHOD_OPTIONS);
	assert_int_equal(ntohs(sent[probe].to.sin_port), 5090);

	response_from_bob_with(inv2, 503, "b2", "Retry-After: 60\r\n", 7100);
	target_answers_sent(probe, 200, false, 7200);
	ctl_on_tick(ctl, 7210);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 2); /* 5091 too, silent since 3000 */
	assert_true(target_info(5090).down);
	assert_int_equal(options_sent_to(7220, 67090, 5090), 0);
	assert_true(target_info(5090).down);
	/* over at 67100, and its down time for silence (until 32000) long
	 * over: up, without a probe */
	assert_int_equal(options_sent_to(67100, 67100, 5090), 0);
	assert_false(target_info(5090).down);
	assert_int_equal(target_info(5090).retry_after_s, 0);
}

/* Calls 1 to n, each INVITE (its index in sent[] into inv) going to the
 * target at ports[i]. */
static void calls_start_at(const uint16_t *ports, int n, unsigned *inv)
{
	uint16_t port;
	for (int i = 0; i < n; i++) {
		numbered_invite(i + 1);
		inv[i] = last_invite_sent(&port);
		assert_int_equal(port, ports[i]);
	}
}

/* select round_robin: each new call starts at the next target, and a call
 * failing over goes round the others from there, each once. */
static void test_round_robin(void **state)
{
	static const uint16_t starts[] = {5090, 5091, 5092, 5090};
	uint16_t port;
	unsigned inv[4];
	(void)state;

	calls_start_at(starts, 4, inv);
	/* call 3 started at 5092: on to 5090, then 5091, then its caller gets
	 * the last 503, as 500 */
	response_from_bob(inv[2], 503, "r3");
	unsigned next = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	response_from_bob(next, 503, "r3");
	next = last_invite_sent(&port);
	assert_int_equal(port, 5091);
	unsigned base = nsent;
	response_from_bob(next, 503, "r3");
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base + 1)->status, 500);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5061);
	assert_int_equal(cdr_int(0, "attempts"), 3);
	assert_string_equal(cdr_str(0, "target"), "127.0.0.1:5091");
}

/* targets[].weight: a round-robin route's calls start at its targets in
 * proportion to their weights, interleaved (3, 1, 1: a b a c a); a target
 * that is down takes no turn, and its share goes to the others by their
 * weights (3, 1: a a c a), not all to the next in line. */
static void test_weighted_round_robin(void **state)
{
	static const uint16_t round1[] = {5090, 5091, 5090, 5092, 5090};
	static const uint16_t round2[] = {5090, 5090, 5092, 5090};
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	for (int i = 0; i < 5; i++) {
		numbered_invite(i + 1);
		unsigned inv = last_invite_sent(&port);
		assert_int_equal(port, round1[i]);
		if (port != 5091) /* 5091 stays silent: down at 3000 */
			response_from_bob_at(inv, 100, NULL, 1010);
	}
	for (uint64_t t = 1010; t <= 3000; t += 10)
		ctl_on_tick(ctl, t);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_down, 1);
	alice_now = 3100;
	for (int i = 0; i < 4; i++) {
		numbered_invite(10 + i);
		last_invite_sent(&port);
		assert_int_equal(port, round2[i]);
	}
}

/* Two targets sharing calls in turn, for a source allowed one call a second. */
static const char rr_rate_config[] =
    SMALL_CONFIG_HEAD " \"limits\": {\"calls_per_second_per_source\": 1},"
		      " \"routes\": [{\"name\": \"rr\", \"select\": \"round_robin\","
		      "  \"targets\": [\"127.0.0.1:5090\", \"127.0.0.1:5091\"]}]}";

/* A call that policy refuses after its route was chosen (over its source's
 * rate, limits.max_calls, no room) goes nowhere, so it takes no turn: a
 * source sending twice its rate had every other INVITE refused, each
 * refused one taking 5091's turn, and every call it was allowed went to
 * 5090. */
static void test_refused_call_takes_no_turn(void **state)
{
	static const uint16_t want[] = {5090, 5091, 5090};
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	for (int i = 0; i < 6; i++) {
		alice_now = 1000 + 500 * (uint64_t)i;
		unsigned base = nsent;
		numbered_invite(i + 1);
		if (i % 2) { /* half a second after the last: over the rate */
			assert_int_equal(nsent, base + 1);
			assert_int_equal(sent_msg(base)->status, 503);
			continue;
		}
		last_invite_sent(&port);
		assert_int_equal(port, want[i / 2]);
	}
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_rate, 3);
}

/* Four targets, the first three as the load makes them of the SRV records
 * of carrier.example (config_dns.c, cfg_srv_targets; the records need a DNS
 * server, which tests/integration/srv.sh has): 5090 and 5091 of priority 10
 * weighing 3 and 1, 5092 of priority 20; 5093 written after the name. */
static const char srv_config[] =
    SMALL_CONFIG_HEAD " \"routes\": [{\"name\": \"srv\", \"failover_ms\": 1000, \"targets\": ["
		      "  \"127.0.0.1:5090\", \"127.0.0.1:5091\", \"127.0.0.1:5092\","
		      "  \"127.0.0.1:5093\"]}]}";

static void srv_tweak(struct config *c)
{
	static const uint16_t priority[] = {10, 10, 20}, weight[] = {3, 1, 1};
	struct config_route *r = &c->routes[0];
	for (unsigned t = 0; t < 3; t++) {
		struct config_target *ct = &r->targets[t];
		snprintf(ct->domain, sizeof(ct->domain), "carrier.example");
		ct->srv = true;
		ct->srv_priority = priority[t];
		ct->weight = weight[t];
	}
	r->srv = true;
}

static int setup_srv(void **state)
{
	(void)state;
	ctl_config = srv_config;
	ctl_config_tweak = srv_tweak;
	return open_ctl(true, false);
}

/* RFC 2782: of one priority, records of weight 0 "should have a very small
 * chance of being selected" when others weigh more (its selection gives one
 * the chance of weight 1: a random number of 0 picks it); here 5090 weighs
 * 4 and 5091 0, each of priority 10. */
static void srv_zero_weight_tweak(struct config *c)
{
	static const uint16_t weight[] = {4, 0, 1};
	srv_tweak(c);
	for (unsigned t = 0; t < 3; t++)
		c->routes[0].targets[t].weight = weight[t];
}

static int setup_srv_zero_weight(void **state)
{
	(void)state;
	ctl_config = srv_config;
	ctl_config_tweak = srv_zero_weight_tweak;
	return open_ctl(true, false);
}

static void test_srv_zero_weight_gets_a_share(void **state)
{
	static const uint16_t starts[] = {5090, 5090, 5091, 5090, 5090};
	unsigned inv[5];
	(void)state;

	calls_start_at(starts, 5, inv);
}

/* A route with SRV targets: new calls start in the first priority, by
 * weight (3, 1: a a b a), never at the priority-20 record while one of
 * priority 10 can take them; a call that fails over tries the rest of its
 * priority first (one that started at 5091 goes on to 5090), then the
 * priority-20 record, then the target written after the name. Leg B's
 * Request-URI and To carry the name, not a record's host. */
static void test_srv_tiers(void **state)
{
	static const uint16_t starts[] = {5090, 5090, 5091, 5090};
	static const uint16_t then[] = {5090, 5092, 5093};
	uint16_t port;
	unsigned inv[4];
	(void)state;

	calls_start_at(starts, 4, inv);
	const struct sip_msg *x = sent_msg(inv[0]);
	const char want[] = "sip:+15550001@carrier.example";
	assert_true(sip_view_eq(sent[inv[0]].buf, x->ruri.whole, want, sizeof(want) - 1));
	x = sent_msg(inv[0]);
	assert_true(sip_view_eq(sent[inv[0]].buf, x->to.uri.whole, want, sizeof(want) - 1));
	unsigned next = inv[2];
	for (int k = 0; k < 3; k++) {
		response_from_bob(next, 503, "r3");
		next = last_invite_sent(&port);
		assert_int_equal(port, then[k]);
	}
	unsigned base = nsent;
	response_from_bob(next, 503, "r3");
	assert_int_equal(nsent, base + 2); /* the ACK, and the caller's 503 as 500 */
	assert_int_equal(sent_msg(base + 1)->status, 500);
	assert_int_equal(cdr_int(0, "attempts"), 4);
}

/* routes[].rewrite: leg B's Request-URI and To user lose "+1" and gain
 * "00", once: the INVITE to the next target is not rewritten again, and the
 * dialog's leg B has the rewritten URI. */
static void test_rewrite_user(void **state)
{
	uint16_t port;
	(void)state;

	invite_from_alice(); /* to +15551234 */
	unsigned inv = last_invite_sent(&port);
	const struct sip_msg *x = sent_msg(inv);
	assert_true(sip_view_eq(sent[inv].buf, x->ruri.whole, "sip:005551234@127.0.0.1:5090", 28));
	assert_true(
	    sip_view_eq(sent[inv].buf, x->to.uri.whole, "sip:005551234@127.0.0.1:5090", 28));
	assert_true(sip_view_eq(sent[inv].buf, x->from.uri.user, "alice", 5));
	response_from_bob(inv, 503, NULL);
	inv = last_invite_sent(&port);
	x = sent_msg(inv);
	assert_int_equal(port, 5091);
	assert_true(sip_view_eq(sent[inv].buf, x->ruri.whole, "sip:005551234@127.0.0.1:5091", 28));
	assert_true(
	    sip_view_eq(sent[inv].buf, x->to.uri.whole, "sip:005551234@127.0.0.1:5091", 28));
	test_addr_in(&bob, "127.0.0.1", 5091);
	response_from_bob(inv, 200, "w1");
	const struct sip_session *lb = &last_install.legs[SHARD_LEG_B];
	assert_int_equal(lb->remote_uri_len, 28);
	assert_memory_equal(lb->remote_uri, "sip:005551234@127.0.0.1:5091", 28);
	/* the CDR keeps what the caller asked for */
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLER);
	assert_string_equal(cdr_str(0, "request_uri"), "sip:+15551234@127.0.0.1:5060");
}

/* routes[].rewrite.strip counts characters, and an escape (%HH, RFC 3261
 * 19.1.2) is one: "+1" off "%2B15551234" leaves "5551234", not the half
 * escape "B15551234" (another number, sent on without a word). A user with
 * fewer characters than strip loses them all. */
static void test_rewrite_strip_counts_an_escape_once(void **state)
{
	uint16_t port;
	(void)state;

	from_alice("INVITE sip:%%2B15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKesc1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=esc1\r\n"
		   "To: <sip:%%2B15551234@127.0.0.1>\r\n"
		   "Call-ID: esc1@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Content-Length: 0\r\n\r\n");
	unsigned inv = last_invite_sent(&port);
	const struct sip_msg *x = sent_msg(inv);
	if (!sip_view_eq(sent[inv].buf, x->ruri.whole, "sip:005551234@127.0.0.1:5090", 28))
		fail_msg("leg B's Request-URI is %.*s", (int)x->ruri.whole.len,
			 sent[inv].buf + x->ruri.whole.off);
	assert_true(sip_view_eq(sent[inv].buf, x->ruri.user, "005551234", 9));

	from_alice("INVITE sip:%%2B@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKesc2\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=esc2\r\n"
		   "To: <sip:%%2B@127.0.0.1>\r\n"
		   "Call-ID: esc2@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Content-Length: 0\r\n\r\n");
	inv = last_invite_sent(&port);
	x = sent_msg(inv);
	assert_true(sip_view_eq(sent[inv].buf, x->ruri.user, "00", 2));
}

/* ctl_set_target_disabled (sipshardctl disable): new calls skip a disabled
 * target, a route with none left answers 503, and enabling it brings it
 * back; only targets of the policy in force can be named. */
static void disable_target(uint16_t port, bool disabled, int want_rc)
{
	struct sockaddr_in a;
	uint32_t calls = 99;
	test_addr_in(&a, "127.0.0.1", port);
	assert_int_equal(
	    ctl_set_target_disabled(ctl, (const struct sockaddr *)&a, sizeof(a), disabled, &calls),
	    want_rc);
	if (!want_rc)
		assert_true(calls < 99);
}

static void test_target_disabled(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	disable_target(5090, true, 0);
	disable_target(5099, true, -ENOENT);
	numbered_invite(1);
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
	struct ctl_target_info ti[4];
	assert_int_equal(ctl_get_targets(ctl, ti, 4), 3);
	assert_true(ti[0].disabled);
	assert_false(ti[1].disabled);
	assert_int_equal(ti[1].calls, 1);

	disable_target(5091, true, 0);
	disable_target(5092, true, 0);
	unsigned base = nsent;
	numbered_invite(2);
	assert_int_equal(nsent, base + 1); /* a 503 at once */
	assert_int_equal(sent_msg(base)->status, 503);
	assert_int_equal(ntohs(sent[base].to.sin_port), 5061);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_target_full, 1);

	disable_target(5090, false, 0);
	numbered_invite(3);
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
}

/* A target silent for failover_ms with no other target to go to (the others
 * disabled or full) keeps the call until Timer B: its one INVITE left
 * unanswered counts once in target_unanswered, and it is found silent (marked
 * down, logged) once, not again at Timer B. */
static void test_silent_last_target_counted_once(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	disable_target(5091, true, 0);
	disable_target(5092, true, 0);
	numbered_invite(1); /* at 1000, to 5090: failover_ms at 2000, Timer B at 33000 */
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
	for (uint64_t t = 1010; t <= 33000; t += 10)
		ctl_on_tick(ctl, t);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_timeout, 1);
	assert_int_equal(st.failovers, 0);
	assert_int_equal(st.targets_marked_down, 1);
	assert_target_counts(5090, 1, 0, 0, 1);
}

/* The policy in force replaced by the routes of json, as a reload does. */
static void reload_routes(const char *json)
{
	static struct config next;
	struct policy *np;
	char err[256];
	assert_int_equal(config_load_string(&next, json, err, sizeof(err)), 0);
	assert_int_equal(policy_create(&np, &next, err, sizeof(err)), 0);
	policy_inherit(np, pol, 0);
	ctl_set_policy(ctl, np);
	policy_destroy(pol);
	pol = np;
}

static bool target_down_now(uint16_t port)
{
	struct ctl_target_info ti[8];
	size_t n = ctl_get_targets(ctl, ti, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		if (ntohs(((const struct sockaddr_in *)&ti[i].addr)->sin_port) == port)
			return ti[i].down;
	fail_msg("no target on port %u", port);
	return false;
}

/*
 * A reload that adds a route in front of the one a call setting up took (the
 * more specific first): the call's route is the same (name and targets),
 * only its place in the list moved, and the call fails over as before. The
 * route was looked for only at its old place, and the 503 went to the
 * caller as 500 with no failover.
 */
static void test_failover_after_a_route_was_added_in_front(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1);
	unsigned inv = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	reload_routes("{\"routes\": [{\"name\": \"other\", \"match\": {\"user_prefix\": \"9\"},"
		      " \"target\": \"127.0.0.1:6000\"}, {\"name\": \"trunk\", \"targets\":"
		      " [\"127.0.0.1:5090\", \"127.0.0.1:5091\", \"127.0.0.1:5092\"],"
		      " \"failover_ms\": 1000}]}");
	response_from_bob(inv, 503, "r1");
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.failovers, 1);
}

/*
 * A call whose route a reload changed (its targets here) and whose target
 * then stays silent for failover_ms: counted unanswered, and that target is
 * down for the down_s of a route of the new policy that lists it among two
 * or more (the first such, in order: not "solo", which lists it alone), so
 * that new calls skip it. It was counted but never marked down (the check
 * needed the call's route as it was).
 */
static void test_silent_target_of_a_reloaded_route_marked_down(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1); /* at 1000, to 5090: failover_ms at 2000 */
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
	reload_routes(
	    "{\"routes\": [{\"name\": \"solo\", \"match\": {\"user_prefix\": \"+9\"},"
	    " \"target\": \"127.0.0.1:5090\"},"
	    " {\"name\": \"trunk\", \"targets\": [\"127.0.0.1:5093\", \"127.0.0.1:5090\"],"
	    " \"down_s\": 300}]}");
	for (uint64_t t = 1010; t <= 2100; t += 10)
		ctl_on_tick(ctl, t);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_marked_down, 1);
	assert_true(target_down_now(5090));
	assert_target_counts(5090, 1, 0, 0, 1);
	/* still down after the default down_s (30 s): trunk's 300 s */
	ctl_on_tick(ctl, 40000);
	assert_true(target_down_now(5090));
}

/* The same with no route of the new policy listing that target among two
 * or more: counted unanswered, not down (new calls have nowhere else). */
static void test_silent_target_of_a_reloaded_route_alone_not_down(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	numbered_invite(1);
	last_invite_sent(&port);
	assert_int_equal(port, 5090);
	reload_routes("{\"routes\": [{\"name\": \"solo\", \"target\": \"127.0.0.1:5090\"},"
		      " {\"name\": \"other\", \"match\": {\"user_prefix\": \"+9\"}, \"targets\":"
		      " [\"127.0.0.1:5091\", \"127.0.0.1:5092\"]}]}");
	for (uint64_t t = 1010; t <= 2100; t += 10)
		ctl_on_tick(ctl, t);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_marked_down, 0);
	assert_false(target_down_now(5090));
	assert_target_counts(5090, 1, 0, 0, 1);
}

/* A target given by name: leg B's INVITE goes to the address the name
 * resolved to, its Request-URI and To name the host as written, and the
 * CDR's target is the name. */
static void test_target_by_name(void **state)
{
	uint16_t port;
	(void)state;

	invite_from_alice();
	unsigned inv = last_invite_sent(&port);
	assert_int_equal(port, 5090);
	assert_int_equal(ntohl(sent[inv].to.sin_addr.s_addr), 0x7f000001);
	const struct sip_msg *x = sent_msg(inv);
	assert_true(sip_view_eq(sent[inv].buf, x->ruri.whole, "sip:+15551234@localhost:5090", 28));
	assert_true(
	    sip_view_eq(sent[inv].buf, x->to.uri.whole, "sip:+15551234@localhost:5090", 28));
	response_from_bob(inv, 486, NULL);
	assert_string_equal(cdr_str(0, "target"), "localhost:5090");
}

/* targets[].max_cps: a second's worth of INVITEs at once, then one per
 * 1/max_cps s; the others go to the next target. */
static void test_target_max_cps(void **state)
{
	uint16_t port;
	static const struct {
		uint64_t at;
		uint16_t port;
	} want[] = {{1000, 5090}, {1000, 5090}, {1000, 5091}, {1400, 5091}, {1500, 5090},
		    {1500, 5091}, {2000, 5090}, {2000, 5091}, {4000, 5090}, {4000, 5090}};
	(void)state;

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		alice_now = want[i].at;
		numbered_invite((int)i + 1);
		last_invite_sent(&port);
		if (port != want[i].port)
			fail_msg("call %u at %llu went to %u, expected %u", i + 1,
				 (unsigned long long)want[i].at, port, want[i].port);
	}
}

/* After a restart, calls count again on their targets: one up (by the
 * address the callee answered from) and one still ringing (by its record),
 * so that max_calls holds across it. */
static void test_target_calls_after_restart(void **state)
{
	uint16_t port;
	(void)state;

	numbered_invite(1);
	unsigned before = ninstall;
	response_from_bob(last_invite_sent(&port), 200, "u1");
	assert_int_equal(port, 5090);
	worker_applies(before);
	const struct shard_dialog up = last_install;
	numbered_invite(2);
	response_from_bob(last_invite_sent(&port), 100, NULL);
	assert_int_equal(port, 5090);
	assert_int_equal(target_calls(5090), 2);

	assert_int_equal(restart(), 1);
	assert_int_equal(target_calls(5090), 2);
	assert_int_equal(target_calls(5091), 0);
	numbered_invite(3); /* 5090 is full */
	last_invite_sent(&port);
	assert_int_equal(port, 5091);
	ctl_on_dialog_ended(ctl, 0, up.slot, up.gen + 1, CTL_END_BYE_CALLER);
	assert_int_equal(target_calls(5090), 1);
}

/* A call that replaces a dialog goes to the other leg's party, not to a
 * route's target, and counts on none (k->route names none), even when that
 * party sits at a target's address; a restart keeps it so: the record taken
 * up does not count on the target either, so that its 503 with Retry-After
 * does not take the target out after a restart when it did not before. */
static void test_replacing_call_counts_on_no_target_after_restart(void **state)
{
	struct ctl_stats st;
	(void)state;

	make_leg_y();
	test_addr_in((struct sockaddr_in *)&leg_y.peer, "127.0.0.1", 5090);
	replacing_invite_from_alice("Replaces: p1call@10.2.2.2;to-tag=kshardtag;from-tag=p1tag");
	unsigned inv = invite_to_bob();
	assert_int_equal(ntohs(sent[inv].to.sin_port), 5090);
	assert_int_equal(target_calls(5090), 0);
	struct sent first = sent[inv];

	assert_int_equal(restart(), 1);
	assert_int_equal(target_calls(5090), 0);
	sent[0] = first;
	nsent = 1;
	response_from_bob_with(0, 503, "r1", "Retry-After: 60\r\n", 1300);
	ctl_on_tick(ctl, 1310);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.targets_retry_after, 0);
	assert_false(target_info(5090).down);
}

/* A call that has not reached a target that answers fails over as before
 * after a restart: the record keeps its route, target and the route's tag. */
static void test_failover_after_restart(void **state)
{
	uint16_t port;
	(void)state;

	invite_from_alice();
	struct sent first = sent[last_invite_sent(&port)];
	assert_int_equal(port, 5090);
	assert_int_equal(restart(), 1);
	sent[0] = first;
	nsent = 1;
	response_from_bob_at(0, 503, "d1", 1300);
	assert_int_equal(nsent, 3);
	assert_int_equal(sent_msg(1)->method_id, SIP_METHOD_ACK);
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(inv2, 2);
	assert_int_equal(port, 5091);
	assert_int_equal(invite_ids(inv2).cseq, 2);
	/* and on silence: the third target 1000 ms later */
	for (uint64_t t = 1310; t < 2300; t += 10)
		ctl_on_tick(ctl, t);
	assert_int_equal(nsent, 4); /* Timer A's resend at 1800 */
	assert_int_equal(last_invite_sent(&port), 3);
	assert_int_equal(port, 5091);
	ctl_on_tick(ctl, 2300);
	last_invite_sent(&port);
	assert_int_equal(port, 5092);
}

/* A call ringing when the process stops is answered through the next one: the
 * callee's 2xx finds its record by leg B's branch, the dialog is installed in
 * the slot the early dialog holds, and the 2xx reaches the caller after it.
 * The stop writes it no record (ctl_end_open_cdrs): it gets one, when it
 * ends, from the next process. */
static void test_ringing_call_answered_after_restart(void **state)
{
	struct ctl_stats st;
	struct sent bob_invite;
	(void)state;
	struct shard_dialog early = ringing_call("btag", &bob_invite);

	/* the process stops: the call's record stays in the file, and its CDR
	 * is the next process's to write (one, when the call ends) */
	ctl_end_open_cdrs(ctl);
	assert_int_equal(ncdrs, 0);
	assert_int_equal(restart(), 1);
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[early.slot]));
	assert_int_equal(table.dialogs[early.slot].state, SHARD_DLG_EARLY);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.setups_restored, 1);
	assert_int_equal(st.setups_malformed, 0);
	assert_int_equal(st.calls_active, 1);
	assert_int_equal(policy_calls(pol), 1);

	/* a new call meanwhile takes another slot */
	numbered_invite(7);
	response_from_bob(invite_to_bob(), 180, "ntag");
	assert_int_equal(ninstall, 1);
	assert_int_not_equal(installs[0].slot, early.slot);

	nsent = ninstall = nevents = 0;
	sent[0] = bob_invite;
	nsent = 1;
	response_from_bob(0, 200, "btag");
	assert_int_equal(ninstall, 1);
	assert_int_equal(installs[0].slot, early.slot);
	assert_int_equal(installs[0].gen, early.gen);
	assert_int_equal(installs[0].state, SHARD_DLG_CONFIRMED);
	assert_string_equal(events, "IA");
	assert_int_equal(sent_msg(1)->status, 200);
	assert_int_equal(ntohs(sent[1].to.sin_port), 5061);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_answered, 1);
	/* the set-up's CDR members came through the file */
	ctl_on_dialog_ended(ctl, 0, early.slot, early.gen + 1, CTL_END_BYE_CALLER);
	assert_int_equal(ncdrs, 1);
	assert_string_equal(cdr_str(0, "call_id"), "a1@10.1.1.1");
	assert_string_equal(cdr_str(0, "disposition"), "answered");
	assert_null(json_object_get(cdrs[0], "carried_over"));
}

/* Timers go on where they were after a restart: the failure's Timer G at the
 * times the last process set, the ringing call's CANCEL at its no-answer
 * time, 120 s after its INVITE, and its 408 64*T1 later. */
static void test_timers_run_on_after_restart(void **state)
{
	struct tick_send log[32];
	struct sent bob_invite;
	(void)state;

	ringing_call("btag", &bob_invite); /* a1, from 1000 */
	numbered_invite(3);
	response_from_bob(nsent - 1, 486, "busy3");
	assert_int_equal(restart(), 2);
	unsigned released = nrelease;

	assert_int_equal(tick_through(1200, 154000, log, 32), 10 + 2 + 10 + 1);
	for (unsigned i = 0; i < 10; i++)
		assert_tick_send(&log[i], timer_g_at[i], 486, "n3@10.1.1.1", 5061);
	assert_int_equal(log[10].at, 121000);
	assert_int_equal(log[10].method, SIP_METHOD_CANCEL);
	assert_int_equal(log[10].port, 5090);
	assert_cancels_again(&log[11], log[10].call_id);
	assert_tick_send(&log[21], 153000, 408, "a1@10.1.1.1", 5061);
	assert_tick_send(&log[22], 153500, 408, "a1@10.1.1.1", 5061); /* Timer G */
	assert_int_equal(nrelease, released + 1);
}

/* The caller's CANCEL after the restart finds the record by its Call-ID and
 * From tag: 200 to the caller, CANCEL to the callee. */
static void test_cancel_after_restart(void **state)
{
	struct sent bob_invite;
	(void)state;
	ringing_call("btag", &bob_invite);
	assert_int_equal(restart(), 1);
	cancel_from_alice();
	assert_int_equal(nsent, 2);
	assert_int_equal(sent_msg(0)->status, 200);
	assert_int_equal(ntohs(sent[0].to.sin_port), 5061);
	assert_int_equal(sent_msg(1)->method_id, SIP_METHOD_CANCEL);
	assert_int_equal(ntohs(sent[1].to.sin_port), 5090);
}

/* An answered call's record lingers on for 2xx retransmissions (its dialog is
 * carried by ctl_adopt); one whose 2xx install never reached the worker (the
 * process died with it in the ring) is set up again by the retransmission. */
static void test_answered_records_after_restart(void **state)
{
	struct ctl_stats st;
	(void)state;
	struct sent bob_invite1, bob_invite2;
	ringing_call("b1", &bob_invite1);
	sent[0] = bob_invite1;
	nsent = 1;
	response_from_bob(0, 200, "b1");
	worker_applies(1);

	nsent = 0;
	numbered_invite(2);
	unsigned inv2 = invite_to_bob();
	bob_invite2 = sent[inv2];
	response_from_bob(inv2, 180, "b2");
	worker_applies(2);
	response_from_bob(inv2, 200, "b2"); /* its install is lost in the ring */
	struct shard_dialog lost = installs[ninstall - 1];
	assert_int_equal(lost.state, SHARD_DLG_CONFIRMED);

	assert_int_equal(restart(), 1);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.setups_restored, 1);
	assert_int_equal(st.calls_active, 2); /* one carried, one setting up */
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[lost.slot]));

	/* the answered call: a 2xx retransmission goes to the caller again, and
	 * nothing is installed */
	sent[0] = bob_invite1;
	nsent = 1;
	response_from_bob(0, 200, "b1");
	assert_int_equal(ninstall, 0);
	assert_int_equal(nsent, 2);
	assert_int_equal(sent_msg(1)->status, 200);

	/* the other: installed now, and then its 2xx goes to the caller */
	sent[0] = bob_invite2;
	nsent = 1;
	nevents = 0;
	response_from_bob(0, 200, "b2");
	assert_int_equal(ninstall, 1);
	assert_int_equal(installs[0].slot, lost.slot);
	assert_string_equal(events, "IA");
	assert_int_equal(sent_msg(1)->status, 200);
}

/* The process died with the early dialog's install still in the ring, after
 * the 18x had gone to the caller: the new process pushes it again on its
 * first tick, into the slot and generation the record holds. */
static void test_early_install_lost_at_restart(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 183, "btag");
	assert_int_equal(ninstall, 1);
	struct shard_dialog early = installs[0]; /* never applied by the worker */

	assert_int_equal(restart(), 1);
	assert_int_equal(table.dialogs[early.slot].state, SHARD_DLG_FREE);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 1);
	assert_int_equal(ninstall, 0);
	ctl_on_tick(ctl, 1300);
	assert_int_equal(ninstall, 1);
	assert_int_equal(installs[0].slot, early.slot);
	assert_int_equal(installs[0].gen, early.gen);
	assert_int_equal(installs[0].state, SHARD_DLG_EARLY);
	worker_applies(0);
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[early.slot]));
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.early_installs_retried, 1);
}

/* The kill came while the worker wrote the early dialog's install into its
 * table: the re-attach frees the half-written record, which names no slot
 * (SHARD_SLOT_WRITING). That is no
 * dialog the worker ended in this generation: the new process pushes the
 * install again, as one lost in the ring, and the worker takes it. Before,
 * the record's generation on a free slot read as an ended dialog: the call
 * went on without its early dialog (the caller's PRACK or UPDATE got 481). */
static void test_early_install_half_written_at_restart(void **state)
{
	struct ctl_stats st;
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 183, "btag");
	assert_int_equal(ninstall, 1);
	struct shard_dialog early = installs[0];
	worker_applies(0);
	/* what the re-attach leaves of it (shard/table.c, reattach) */
	shard_dialog_free(&table, early.slot);
	table.dialogs[early.slot].slot = SHARD_SLOT_WRITING;

	assert_int_equal(restart(), 1);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 1);
	ctl_on_tick(ctl, 1300);
	assert_int_equal(ninstall, 1);
	assert_int_equal(installs[0].slot, early.slot);
	assert_int_equal(installs[0].gen, early.gen);
	worker_applies(0);
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[early.slot]));
}

/* The kill came inside an in-place update of an answered call's dialog (the
 * caller's INFO or BYE relayed in it): the re-attach frees the torn record,
 * marked as torn in an update (SHARD_SLOT_UPDATING). The call was installed
 * and its caller had the 2xx: it is lost with the record, not set up again.
 * Taken for a call whose install was torn, it went back to PROCEEDING: a
 * CANCEL to the callee, a 408 to the caller after their 2xx and ACK, a
 * timeout CDR, and its place held until Timer H after that 408. */
static void test_answered_call_torn_in_an_update_at_restart(void **state)
{
	struct ctl_stats st;
	struct sent inv1;
	(void)state;
	struct shard_dialog answered = ringing_call("b1", &inv1);
	sent[0] = inv1;
	nsent = 1;
	response_from_bob(0, 200, "b1");
	worker_applies(1);
	/* what the re-attach leaves of it (shard/table.c, reattach) */
	shard_dialog_free(&table, answered.slot);
	table.dialogs[answered.slot].slot = SHARD_SLOT_UPDATING;

	assert_int_equal(restart(), 0); /* no call setting up */
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 0);
	assert_int_equal(policy_calls(pol), 0);
	nsent = 0;
	ctl_on_tick(ctl, 1300);
	ctl_on_tick(ctl, 20000);
	ctl_on_tick(ctl, 1000000);
	for (unsigned i = 0; i < nsent; i++)
		if (sent_msg(i)->method_id == SIP_METHOD_CANCEL || sent_msg(i)->status == 408)
			fail_msg("after the restart: %.40s", sent[i].buf);
	assert_int_equal(ninstall, 0); /* not installed again */
}

/* The worker ended a dialog whose record was still kept (an answered call's
 * BYE within the linger, an early dialog's BYE from the caller), and the
 * notice was lost in the ring at the kill. The new process must not hold the
 * slot, count the call, nor install the dialog again. Before, the answered
 * record went back to PROCEEDING and held a place of max_calls until it sent
 * the caller a 408 two minutes later. */
static void test_dialogs_ended_before_restart(void **state)
{
	struct ctl_stats st;
	struct sent inv1, inv2;
	(void)state;
	struct shard_dialog answered = ringing_call("b1", &inv1);
	sent[0] = inv1;
	nsent = 1;
	response_from_bob(0, 200, "b1");
	worker_applies(1);
	shard_dialog_free(&table, answered.slot); /* BYE; its notice lost */

	nsent = 0;
	numbered_invite(2);
	unsigned i2 = invite_to_bob();
	inv2 = sent[i2];
	unsigned before = ninstall;
	response_from_bob(i2, 180, "b2");
	worker_applies(before);
	struct shard_dialog early = installs[before];
	shard_dialog_free(&table, early.slot); /* the caller's BYE; notice lost */

	assert_int_equal(restart(), 1); /* the second call is still setting up */
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 0);
	assert_int_equal(policy_calls(pol), 0);

	/* nothing is installed again, by a tick or by the callee's 2xx, which
	 * is ACKed and ended with a BYE (the caller holds no dialog to confirm),
	 * the caller's INVITE answered 487 */
	ctl_on_tick(ctl, 1300);
	assert_int_equal(ninstall, 0);
	sent[0] = inv2;
	nsent = 1;
	response_from_bob(0, 200, "b2");
	assert_int_equal(ninstall, 0);
	unsigned finals = 0;
	for (unsigned i = 1; i < nsent; i++)
		if (ntohs(sent[i].to.sin_port) == 5061) {
			assert_int_equal(sent_msg(i)->status, 487);
			finals++;
		}
	assert_int_equal(finals, 1);

	/* the slots serve new calls, and no 408 ever follows */
	unsigned n = nsent;
	ctl_on_tick(ctl, 1000000);
	for (unsigned i = n; i < nsent; i++)
		assert_int_not_equal(sent_msg(i)->status, 408);
	nsent = 0;
	numbered_invite(3);
	response_from_bob(invite_to_bob(), 180, "b3");
	nsent = 0;
	numbered_invite(4);
	response_from_bob(invite_to_bob(), 180, "b4");
	assert_int_equal(ninstall, 2);
	bool reused = false;
	for (unsigned i = 0; i < ninstall && i < DIALOGS; i++)
		reused |= installs[i].slot == answered.slot || installs[i].slot == early.slot;
	assert_true(reused);
}

/* A record the last process left half written is freed and counted, and its
 * place serves new calls; the others are taken up. */
static void test_malformed_record_freed_at_restart(void **state)
{
	struct ctl_stats st;
	struct ctl_pool pool;
	(void)state;
	numbered_invite(1);
	numbered_invite(2);
	ctl_get_pool(ctl, &pool);
	ctl_close(ctl);
	ctl = NULL;
	/* the first record (the first call's: records go out lowest first) all
	 * 0xFF: a state no record has */
	int fd = open(setups_path, O_RDWR);
	assert_true(fd >= 0);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	char junk[512];
	memset(junk, 0xFF, sizeof(junk));
	off_t first = sb.st_size - (off_t)pool.records * (off_t)pool.record_bytes;
	assert_int_equal(pwrite(fd, junk, sizeof(junk), first), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(reopen(), 1);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.setups_malformed, 1);
	assert_int_equal(st.calls_active, 1);
	/* the second call's retransmitted INVITE is known (100), the first's is a new call */
	nsent = 0;
	numbered_invite(2);
	assert_int_equal(sent_msg(0)->status, 100);
	assert_int_equal(nsent, 1);
	nsent = 0;
	numbered_invite(1);
	assert_int_equal(sent_msg(0)->status, 100);
	invite_to_bob();
}

/* Closes the controller, writes c over the byte at of the first copy of
 * needle in the first record of its setups.tbl (a record torn by a kill),
 * opens it again and expects that record freed as malformed. */
static void tear_first_record_and_reopen(const char *needle, size_t at, char c)
{
	struct ctl_pool pool;
	struct ctl_stats st;
	struct stat sb;
	static char rec[1 << 16];

	ctl_get_pool(ctl, &pool);
	ctl_close(ctl);
	ctl = NULL;
	int fd = open(setups_path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	off_t first = sb.st_size - (off_t)pool.records * (off_t)pool.record_bytes;
	size_t n = pool.record_bytes < sizeof(rec) ? pool.record_bytes : sizeof(rec);
	assert_int_equal(pread(fd, rec, n, first), (ssize_t)n);
	char *found = memmem(rec, n, needle, strlen(needle));
	assert_non_null(found);
	assert_true(at < strlen(needle));
	found[at] = c;
	assert_int_equal(pwrite(fd, rec, n, first), (ssize_t)n);
	close(fd);
	assert_int_equal(reopen(), 0);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.setups_malformed, 1);
}

/* Found by fuzz_controller: a record whose leg B Call-ID field was cut
 * ("...@" left of "...@sipshard") while its INVITE stayed whole was taken
 * up, and a failover then sent an INVITE with that Call-ID, which does not
 * parse. A record whose identifiers are not its INVITE's is malformed. */
static void test_record_ids_not_its_invite(void **state)
{
	uint16_t port;
	char cid[64];
	(void)state;

	numbered_invite(1);
	const struct sip_msg *x = sent_msg(last_invite_sent(&port));
	snprintf(cid, sizeof(cid), "%.*s", (int)x->call_id.len,
		 sent[nsent - 1].buf + x->call_id.off);
	/* the first copy in the record is the field (it comes before the INVITE):
	 * cut after its '@' */
	const char *at = strchr(cid, '@');
	assert_non_null(at);
	tear_first_record_and_reopen(cid, (size_t)(at + 1 - cid), '\0');
}

/* A controller that stops gives back the memory of its free records (a file
 * on tmpfs would hold them until the next boot) and keeps the records of the
 * calls setting up, which the next one takes up. */
static void test_free_records_released_at_close(void **state)
{
	struct sent bob_invite;
	struct ctl_pool pool;
	struct stat sb;
	(void)state;
	ringing_call("btag", &bob_invite);
	ctl_get_pool(ctl, &pool);
	assert_int_equal(stat(setups_path, &sb), 0);
	off_t full = sb.st_size;
	assert_true((size_t)sb.st_blocks * 512 >= (size_t)pool.records * pool.record_bytes);
	ctl_close(ctl);
	ctl = NULL;
	assert_int_equal(stat(setups_path, &sb), 0);
	assert_int_equal(sb.st_size, full);
	/* the header page and the ringing call's record, give or take a page each side */
	assert_true((size_t)sb.st_blocks * 512 <= pool.record_bytes + 4 * 4096);
	assert_true((size_t)sb.st_blocks * 512 >= pool.record_bytes - 4096);
	assert_int_equal(reopen(), 1);
}

/* Records of another capacity.setups cannot be read: the file starts over. */
static void test_records_of_another_capacity_dropped(void **state)
{
	char err[256];
	(void)state;
	invite_from_alice();
	ctl_close(ctl);
	ctl = NULL;
	config_free(&cfg);
	char other[sizeof(test_config)];
	snprintf(other, sizeof(other), "%s", test_config);
	memcpy(strstr(other, "\"setups\": 16"), "\"setups\": 32", 12);
	if (config_load_string(&cfg, other, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	assert_int_equal(reopen(), 0);
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 0);
	struct stat sb;
	assert_int_equal(stat(setups_path, &sb), 0);
	struct ctl_pool pool;
	ctl_get_pool(ctl, &pool);
	assert_int_equal(pool.records, 32);
	assert_true((size_t)sb.st_size > 32 * pool.record_bytes);
}

/* A setups.tbl of zeros at its size (a first start stopped between the
 * file's sizing and its header's write) never held a call: it is taken as
 * new, without the warning that it "was written by another build". */
static void test_records_whose_header_was_never_written_taken_as_new(void **state)
{
	struct ctl_pool pool;
	struct stat sb;
	char said[4096];
	(void)state;
	ctl_get_pool(ctl, &pool);
	ctl_close(ctl);
	ctl = NULL;
	assert_int_equal(stat(setups_path, &sb), 0);
	off_t size = sb.st_size;
	unlink(setups_path);
	int fd = open(setups_path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
	fflush(stderr);
	FILE *log = tmpfile();
	assert_non_null(log);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(log), STDERR_FILENO) >= 0);
	log_set_level(LOG_LVL_INFO);
	uint32_t n = reopen();
	log_set_level(LOG_LVL_ERROR);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(log);
	size_t len = fread(said, 1, sizeof(said) - 1, log);
	said[len] = '\0';
	fclose(log);
	fputs(said, stderr);
	assert_int_equal(n, 0);
	assert_null(strstr(said, "another build"));
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 0);
	assert_int_equal(st.setups_malformed, 0);
	/* the header is written now: a call set up is taken up by the next */
	invite_from_alice();
	assert_int_equal(restart(), 1);
}

/* A test run on a controller made from configuration cfg (setup_config). */
/* ---- digest authentication to the callee (routes[].auth) ------------------ */

/* The caller's INVITE, with credentials of its own for us. */
static void invite_with_credentials_from_alice(void)
{
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Proxy-Authorization: Digest username=\"alice\", realm=\"sbc\", nonce=\"x\", "
		   "uri=\"sip:+15551234@127.0.0.1:5060\", response=\"0123\"\r\n"
		   "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		   "Content-Length: 0\r\n\r\n");
}

/* The lines of sent[i] with header id. */
static unsigned count_lines(unsigned i, enum sip_hdr id)
{
	return sip_hdr_lines(sent_msg(i), id);
}

/* The value of parameter name in sent[i]'s line id. */
static void credential_param(unsigned i, enum sip_hdr id, const char *name, char *val, size_t cap)
{
	const struct sip_msg *x = sent_msg(i);
	char line[2048];
	for (uint16_t h = 0; h < x->nhdrs; h++)
		if (x->hdrs[h].id == id) {
			snprintf(line, sizeof(line), "%.*s", (int)x->hdrs[h].value.len,
				 sent[i].buf + x->hdrs[h].value.off);
			test_credential_param(line, name, val, cap);
			assert_true(val[0] != '\0');
			return;
		}
	fail_msg("no such line in sent datagram %u", i);
}

/* sent[i]'s line id (the one of its kind) answers nonce in realm with
 * trunk7's password, qop auth and nonce-count want_nc. */
static void assert_answer_line(unsigned i, enum sip_hdr id, const char *realm, const char *nonce,
			       const char *want_nc)
{
	char uri[256], cnonce[64], nc[16], response[80], v[128], want[33];
	assert_int_equal(count_lines(i, id), 1);
	credential_param(i, id, "realm", v, sizeof(v));
	assert_string_equal(v, realm);
	credential_param(i, id, "nonce", v, sizeof(v));
	assert_string_equal(v, nonce);
	credential_param(i, id, "uri", uri, sizeof(uri));
	credential_param(i, id, "cnonce", cnonce, sizeof(cnonce));
	credential_param(i, id, "nc", nc, sizeof(nc));
	credential_param(i, id, "response", response, sizeof(response));
	const struct sip_msg *x = sent_msg(i);
	assert_true(sip_view_eq(sent[i].buf, x->ruri.whole, uri, strlen(uri)));
	assert_string_equal(nc, want_nc);
	assert_true(strlen(cnonce) >= 8);
	test_digest_response("trunk7", realm, "s3cret", "INVITE", uri, nonce, nc, cnonce, want);
	assert_string_equal(response, want);
}

/* sent[i]'s Proxy-Authorization answers nonce in realm "carrier.example"
 * with trunk7's password and qop auth. */
static void assert_answers(unsigned i, const char *nonce)
{
	assert_answer_line(i, SIP_HDR_PROXY_AUTHORIZATION, "carrier.example", nonce, "00000001");
}

/* controller.auth_answered and auth_refused */
static void assert_auth_counts(uint64_t answered, uint64_t refused)
{
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.auth_answered, answered);
	assert_int_equal(st.auth_refused, refused);
}

#define CHALLENGE(nonce, stale)                                                                    \
	"Proxy-Authenticate: Digest realm=\"carrier.example\", nonce=\"" nonce "\", "              \
	"qop=\"auth\", algorithm=MD5" stale "\r\n"

static void test_auth_challenge_answered(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	invite_with_credentials_from_alice();
	unsigned inv = last_invite_sent(&port);
	/* the caller's credentials were for us, not for the carrier */
	assert_int_equal(count_lines(inv, SIP_HDR_PROXY_AUTHORIZATION), 0);
	struct sip_view_copy first = invite_ids(inv);
	unsigned base = nsent;
	response_from_bob_with(inv, 407, "b1", CHALLENGE("n0nce1", ""), 1100);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(sent_msg(base)->cseq.num, 1);
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(inv2, base + 1);
	assert_int_equal(port, 5090); /* the same target */
	struct sip_view_copy second = invite_ids(inv2);
	assert_string_equal(second.call_id, first.call_id);
	assert_string_equal(second.from_tag, first.from_tag);
	assert_string_not_equal(second.branch, first.branch);
	assert_int_equal(second.cseq, 2);
	assert_int_equal(count_lines(inv2, SIP_HDR_PROXY_AUTHORIZATION), 1);
	assert_int_equal(count_lines(inv2, SIP_HDR_AUTHORIZATION), 0);
	char v[128];
	credential_param(inv2, SIP_HDR_PROXY_AUTHORIZATION, "username", v, sizeof(v));
	assert_string_equal(v, "trunk7");
	credential_param(inv2, SIP_HDR_PROXY_AUTHORIZATION, "realm", v, sizeof(v));
	assert_string_equal(v, "carrier.example");
	assert_answers(inv2, "n0nce1");
	/* the 407 again on the first INVITE's branch (our ACK was lost): its
	 * ACK again (RFC 3261 17.1.1.2), not a drop as a forged branch's */
	base = nsent;
	response_from_bob_with(inv, 407, "b1", CHALLENGE("n0nce1", ""), 1150);
	assert_int_equal(nsent, base + 1);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(sent_msg(base)->cseq.num, 1);

	/* nothing reached alice but her 100; bob answers the second INVITE */
	for (unsigned i = 0; i < nsent; i++)
		if (ntohs(sent[i].to.sin_port) == 5061)
			assert_int_equal(sent_msg(i)->status, 100);
	base = nsent;
	response_from_bob(inv2, 200, "b2");
	assert_int_equal(ninstall, 1);
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);
	assert_auth_counts(1, 0);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_answered, 1);
	assert_int_equal(st.failovers, 0);
	/* leg B is the INVITE that was answered: its CSeq, the same target */
	assert_int_equal(last_install.legs[SHARD_LEG_B].local_cseq, 2);
	/* the worker answers challenges to its own requests on leg B with the
	 * credentials of the route it knows by this key */
	assert_int_equal(last_install.auth_key, route_key("carrier", "127.0.0.1:5090"));
}

/* A second challenge is answered only when it says the nonce was stale; then
 * a third, or a second that is not stale, means the credentials are wrong:
 * the caller gets 403, not a challenge it has no answer to. */
static void test_auth_refused(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	invite_from_alice();
	unsigned inv = last_invite_sent(&port);
	response_from_bob_with(inv, 407, "b1", CHALLENGE("one", ""), 1100);
	unsigned inv2 = last_invite_sent(&port);
	assert_answers(inv2, "one");
	response_from_bob_with(inv2, 407, "b2", CHALLENGE("two", ", stale=true"), 1200);
	unsigned inv3 = last_invite_sent(&port);
	assert_int_equal(invite_ids(inv3).cseq, 3);
	assert_answers(inv3, "two");
	unsigned base = nsent;
	response_from_bob_with(inv3, 407, "b3", CHALLENGE("three", ", stale=true"), 1300);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(ntohs(sent[base].to.sin_port), 5090);
	const struct sip_msg *x = sent_msg(base + 1);
	assert_int_equal(x->status, 403);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5061);
	assert_int_equal(count_lines(base + 1, SIP_HDR_PROXY_AUTHENTICATE), 0);
	assert_auth_counts(2, 1);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_failed, 1);
	assert_int_equal(ncdrs, 1);
	assert_int_equal(cdr_int(0, "status"), 403);

	/* a new call: the first challenge is answered, a second one that is not
	 * stale is refused at once */
	numbered_invite(2);
	inv = last_invite_sent(&port);
	response_from_bob_with(inv, 407, "c1", CHALLENGE("four", ""), 1400);
	inv2 = last_invite_sent(&port);
	assert_int_equal(invite_ids(inv2).cseq, 2);
	base = nsent;
	response_from_bob_with(inv2, 407, "c2", CHALLENGE("five", ""), 1500);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base + 1)->status, 403);
	assert_auth_counts(3, 2);
}

#define CALLEE_CHALLENGE(nonce, stale)                                                             \
	"WWW-Authenticate: Digest realm=\"callee.example\", nonce=\"" nonce "\", "                 \
	"qop=\"auth\"" stale "\r\n"

/* The carrier's proxy answers 407, the callee behind it 401 (RFC 3261 22.3):
 * the third INVITE carries both answers, the proxy's again (its nonce, the
 * next nc), and the call goes on to its 2xx. The other way round too. */
static void test_auth_proxy_then_callee(void **state)
{
	uint16_t port;
	(void)state;

	invite_from_alice();
	unsigned inv = last_invite_sent(&port);
	response_from_bob_with(inv, 407, "b1", CHALLENGE("p1", ""), 1100);
	unsigned inv2 = last_invite_sent(&port);
	assert_answers(inv2, "p1");
	assert_int_equal(count_lines(inv2, SIP_HDR_AUTHORIZATION), 0);
	unsigned base = nsent;
	response_from_bob_with(inv2, 401, "b2", CALLEE_CHALLENGE("c1", ""), 1200);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	unsigned inv3 = last_invite_sent(&port);
	assert_int_equal(inv3, base + 1);
	assert_int_equal(port, 5090);
	assert_int_equal(invite_ids(inv3).cseq, 3);
	assert_answer_line(inv3, SIP_HDR_PROXY_AUTHORIZATION, "carrier.example", "p1", "00000002");
	assert_answer_line(inv3, SIP_HDR_AUTHORIZATION, "callee.example", "c1", "00000001");
	response_from_bob(inv3, 200, "b3");
	assert_int_equal(ninstall, 1);
	assert_int_equal(sent_msg(nsent - 1)->status, 200);
	assert_auth_counts(2, 0);

	/* the callee's 401 first, then the proxy's 407 */
	numbered_invite(2);
	inv = last_invite_sent(&port);
	response_from_bob_with(inv, 401, "c1", CALLEE_CHALLENGE("c2", ""), 1300);
	inv2 = last_invite_sent(&port);
	assert_answer_line(inv2, SIP_HDR_AUTHORIZATION, "callee.example", "c2", "00000001");
	response_from_bob_with(inv2, 407, "c2", CHALLENGE("p2", ""), 1400);
	inv3 = last_invite_sent(&port);
	assert_int_equal(invite_ids(inv3).cseq, 3);
	assert_answer_line(inv3, SIP_HDR_AUTHORIZATION, "callee.example", "c2", "00000002");
	assert_answer_line(inv3, SIP_HDR_PROXY_AUTHORIZATION, "carrier.example", "p2", "00000001");
	assert_auth_counts(4, 0);
}

/* Where chained challenges end: the callee's realm again without stale is a
 * refusal (403), as is a third realm; stale gets a new answer once, the
 * proxy's line kept. */
static void test_auth_chain_ends(void **state)
{
	uint16_t port;
	(void)state;

	invite_from_alice();
	unsigned inv = last_invite_sent(&port);
	response_from_bob_with(inv, 407, "b1", CHALLENGE("p1", ""), 1100);
	response_from_bob_with(last_invite_sent(&port), 401, "b2", CALLEE_CHALLENGE("c1", ""),
			       1200);
	response_from_bob_with(last_invite_sent(&port), 401, "b3",
			       CALLEE_CHALLENGE("c2", ", stale=true"), 1300);
	unsigned inv4 = last_invite_sent(&port);
	assert_int_equal(invite_ids(inv4).cseq, 4);
	assert_answer_line(inv4, SIP_HDR_PROXY_AUTHORIZATION, "carrier.example", "p1", "00000003");
	assert_answer_line(inv4, SIP_HDR_AUTHORIZATION, "callee.example", "c2", "00000001");
	unsigned base = nsent;
	response_from_bob_with(inv4, 401, "b4", CALLEE_CHALLENGE("c3", ""), 1400);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base + 1)->status, 403);
	assert_auth_counts(3, 1);

	/* a third realm after two */
	numbered_invite(2);
	inv = last_invite_sent(&port);
	response_from_bob_with(inv, 407, "c1", CHALLENGE("p2", ""), 1500);
	response_from_bob_with(last_invite_sent(&port), 401, "c2", CALLEE_CHALLENGE("c4", ""),
			       1600);
	base = nsent;
	response_from_bob_with(last_invite_sent(&port), 407, "c3",
			       "Proxy-Authenticate: Digest realm=\"edge.example\", nonce=\"e\"\r\n",
			       1700);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base + 1)->status, 403);
	assert_auth_counts(5, 2);
}

/* The challenges answered are part of the set-up record: after a restart,
 * the callee's 401 still gets both answers. */
static void test_auth_chain_after_restart(void **state)
{
	uint16_t port;
	(void)state;

	invite_from_alice();
	response_from_bob_with(last_invite_sent(&port), 407, "b1", CHALLENGE("p1", ""), 1100);
	struct sent second = sent[last_invite_sent(&port)];
	assert_int_equal(restart(), 1);
	/* bob's 401 to the INVITE the last process sent */
	sent[0] = second;
	nsent = 1;
	response_from_bob_with(0, 401, "b2", CALLEE_CHALLENGE("c1", ""), 1300);
	unsigned inv3 = last_invite_sent(&port);
	assert_answer_line(inv3, SIP_HDR_PROXY_AUTHORIZATION, "carrier.example", "p1", "00000002");
	assert_answer_line(inv3, SIP_HDR_AUTHORIZATION, "callee.example", "c1", "00000001");
}

/* Call n's INVITE answered 401 with lines, at now: the 401 is ACKed and
 * the caller gets 403, no INVITE again. */
static void challenge_not_answered(int n, const char *lines, uint64_t now)
{
	uint16_t port;
	numbered_invite(n);
	unsigned inv = last_invite_sent(&port), base = nsent;
	response_from_bob_with(inv, 401, "x1", lines, now);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(ntohs(sent[base].to.sin_port), 5090);
	assert_int_equal(sent_msg(base + 1)->status, 403);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5061);
}

/* A challenge in another realm than the route's, or none the route can
 * answer: 403 at once, no INVITE again. */
static void test_auth_other_realm(void **state)
{
	uint16_t port;
	(void)state;

	challenge_not_answered(
	    1, "WWW-Authenticate: Digest realm=\"carrier.example\", nonce=\"n\"\r\n", 1100);
	assert_auth_counts(0, 1);
	/* in the route's realm, but asking for auth-int only */
	challenge_not_answered(2,
			       "WWW-Authenticate: Digest realm=\"other.example\", nonce=\"n\", "
			       "qop=\"auth-int\"\r\n",
			       1200);

	/* a 401 with two challenges: SHA-256 is taken over MD5, in an
	 * Authorization line */
	numbered_invite(3);
	unsigned inv = last_invite_sent(&port), base = nsent;
	response_from_bob_with(inv, 401, "d1",
			       "WWW-Authenticate: Digest realm=\"other.example\", nonce=\"m\"\r\n"
			       "WWW-Authenticate: Digest realm=\"other.example\", nonce=\"s\", "
			       "algorithm=SHA-256\r\n",
			       1300);
	assert_int_equal(nsent, base + 2);
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(inv2, base + 1);
	assert_int_equal(count_lines(inv2, SIP_HDR_AUTHORIZATION), 1);
	assert_int_equal(count_lines(inv2, SIP_HDR_PROXY_AUTHORIZATION), 0);
	char v[128];
	credential_param(inv2, SIP_HDR_AUTHORIZATION, "algorithm", v, sizeof(v));
	assert_string_equal(v, "SHA-256");
	credential_param(inv2, SIP_HDR_AUTHORIZATION, "nonce", v, sizeof(v));
	assert_string_equal(v, "s");
	assert_auth_counts(1, 2);

	/* an answer longer than a credentials line (a 1500-byte nonce): 403,
	 * not an INVITE cut short */
	char lines[1700];
	memset(lines, 0, sizeof(lines));
	int n = snprintf(lines, sizeof(lines),
			 "WWW-Authenticate: Digest realm=\"other.example\", nonce=\"");
	memset(lines + n, 'n', 1500);
	strcat(lines, "\"\r\n");
	challenge_not_answered(4, lines, 1400);
	assert_auth_counts(1, 3);
}

/* A route without credentials passes the caller's on and the callee's
 * challenge back, as before routes[].auth. */
static void test_auth_without_credentials(void **state)
{
	uint16_t port;
	(void)state;

	invite_with_credentials_from_alice();
	unsigned inv = last_invite_sent(&port);
	assert_int_equal(count_lines(inv, SIP_HDR_PROXY_AUTHORIZATION), 1);
	unsigned base = nsent;
	response_from_bob_with(inv, 407, "b1", CHALLENGE("n", ""), 1100);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base + 1)->status, 407);
	assert_int_equal(count_lines(base + 1, SIP_HDR_PROXY_AUTHENTICATE), 1);
	assert_auth_counts(0, 0);
}

/* An INVITE asking for session_s (with Supported: timer when refresher) from
 * alice, as call n. */
static void invite_asking(int n, unsigned session_s, bool refresher)
{
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKse%d\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=se%d\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: se%d@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "%s"
		   "Session-Expires: %u\r\n"
		   "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		   "Content-Length: 0\r\n\r\n",
		   n, n, n, refresher ? "Supported: timer\r\n" : "", session_s);
}

/* timers.min_se_s (RFC 4028 section 8.1): an INVITE that asks for less and
 * can refresh is answered 422 with Min-SE, no leg B; one that cannot
 * refresh, or asks for enough, goes on to the callee. */
static void test_session_too_brief_refused(void **state)
{
	struct ctl_stats st;
	(void)state;

	invite_asking(1, 90, true);
	assert_int_equal(nsent, 1);
	const struct sip_msg *x = sent_msg(0);
	assert_int_equal(x->status, 422);
	uint32_t min_se = 0;
	assert_true(sip_hdr_delta_seconds(x, SIP_HDR_MIN_SE, &min_se));
	assert_int_equal(min_se, 120);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_session_too_brief, 1);
	assert_int_equal(st.calls_active, 0);

	invite_asking(2, 90, false);
	assert_int_equal(sent_msg(nsent - 1)->method_id, SIP_METHOD_INVITE);
	invite_asking(3, 120, true);
	assert_int_equal(sent_msg(nsent - 1)->method_id, SIP_METHOD_INVITE);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_session_too_brief, 1);
}

/* timers.session_expires_s: a callee that refuses the interval sipshard asked
 * it for (422 with Min-SE) is asked again for its Min-SE, once, without the
 * caller seeing the 422; a second 422, or one to an interval the caller
 * asked for itself, reaches the caller. */
static void test_session_interval_raised_on_422(void **state)
{
	struct ctl_stats st;
	uint16_t port;
	(void)state;

	numbered_invite(1);
	unsigned inv = last_invite_sent(&port), base = nsent;
	assert_true(sip_view_eq(sent[inv].buf, out.session_expires, "90", 2));
	unsigned cseq = out.cseq.num;
	response_from_bob_with(inv, 422, "x1", "Min-SE: 1800\r\n", 1100);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	const struct sip_msg *again = sent_msg(base + 1);
	assert_int_equal(again->method_id, SIP_METHOD_INVITE);
	assert_int_equal(again->cseq.num, cseq + 1);
	assert_true(sip_view_eq(sent[base + 1].buf, again->session_expires, "1800", 4));
	uint32_t min_se = 0;
	assert_true(sip_hdr_delta_seconds(again, SIP_HDR_MIN_SE, &min_se));
	assert_int_equal(min_se, 1800);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5090);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.session_interval_raised, 1);

	/* refused again: the caller gets the 422 */
	base = nsent;
	response_from_bob_with(base - 1, 422, "x2", "Min-SE: 3600\r\n", 1200);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(sent_msg(base + 1)->status, 422);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5061);

	/* a caller that asked for its own interval answers its own 422 */
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKse2\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=se2\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: se2@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Session-Expires: 100\r\n"
		   "Content-Length: 0\r\n\r\n");
	inv = last_invite_sent(&port);
	assert_true(sip_view_eq(sent[inv].buf, out.session_expires, "100", 3));
	base = nsent;
	response_from_bob_with(inv, 422, "x3", "Min-SE: 1800\r\n", 1300);
	assert_int_equal(sent_msg(base + 1)->status, 422);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.session_interval_raised, 1);
}

/* a Proxy-Authorization line of alice's, for sipshard (or a proxy before it) */
#define ALICES_CREDENTIALS                                                                         \
	"Proxy-Authorization: Digest username=\"alice\", realm=\"sbc\", nonce=\"x\", "             \
	"uri=\"sip:sipshard@127.0.0.1\", response=\"0123\""

/* sent[again], leg B's INVITE of a call that replaces a dialog sent again
 * after sent[inv] was refused, goes where the first went and names what it
 * named: the same address, Request-URI, Route, To and Replaces; a new
 * branch and a CSeq one higher. */
static void assert_replacing_invite_again(unsigned inv, unsigned again)
{
	const struct sip_msg *a = sent_msg(again);
	char first[4][512];
	static const enum sip_hdr same[] = {SIP_HDR_ROUTE, SIP_HDR_TO, SIP_HDR_REPLACES};

	assert_int_equal(a->method_id, SIP_METHOD_INVITE);
	assert_int_equal(sent[again].to.sin_addr.s_addr, sent[inv].to.sin_addr.s_addr);
	assert_int_equal(sent[again].to.sin_port, sent[inv].to.sin_port);
	assert_true(sip_view_eq(sent[again].buf, a->ruri.whole, leg_y.remote_target,
				leg_y.remote_target_len));
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		snprintf(first[i], sizeof(first[i]), "%s", sent_hdr(inv, same[i]));
	unsigned cseq = sent_msg(inv)->cseq.num;
	struct sip_view_copy before = invite_ids(inv), after = invite_ids(again);
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		assert_string_equal(sent_hdr(again, same[i]), first[i]);
	assert_int_equal(sent_msg(again)->cseq.num, cseq + 1);
	assert_string_not_equal(after.branch, before.branch);
	assert_string_equal(after.call_id, before.call_id);
}

/* A call replacing a dialog whose other party is at 127.0.0.1:port, the
 * worker passing key, with alice's Proxy-Authorization, of which its INVITE
 * to that party carries creds_lines; that party answers it 407, which is
 * ACKed. Returns the index of the ACK (the INVITE's is one lower). */
static unsigned replacing_call_challenged(uint16_t port, uint32_t key, unsigned creds_lines)
{
	make_leg_y();
	test_addr_in(&bob, "127.0.0.1", port); /* the 407 comes from there */
	memcpy(&leg_y.peer, &bob, sizeof(bob));
	leg_y_auth_key = key;
	replacing_invite_from_alice(
	    "Replaces: p1call@10.2.2.2;to-tag=kshardtag;from-tag=p1tag\r\n" ALICES_CREDENTIALS);
	unsigned inv = invite_to_bob(), base = nsent;
	assert_int_equal(base, inv + 1);
	assert_int_equal(count_lines(inv, SIP_HDR_PROXY_AUTHORIZATION), creds_lines);
	response_from_bob_with(inv, 407, "b1", CHALLENGE("n0nce1", ""), 1100);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	return base;
}

/* A call that replaces a dialog goes to that dialog's party, not to a
 * route's target, and the worker passes the dialog's credentials key when
 * that party is its leg B (the callee side of the route its call took). A
 * 407 of that party is answered with the route's credentials, as for the
 * call the dialog was: the INVITE again, to the same party by the same
 * Route, naming the same dialog. Before, a call that took no route answered
 * no challenge, and the caller got a 407 meant for sipshard's account. */
static void test_replacing_call_answers_challenge_of_the_dialogs_party(void **state)
{
	(void)state;

	/* alice's credentials were for us, not for the carrier */
	unsigned base = replacing_call_challenged(5090, route_key("carrier", "127.0.0.1:5090"), 0);
	unsigned inv = base - 1;
	assert_replacing_invite_again(inv, base + 1);
	assert_answers(base + 1, "n0nce1");
	assert_auth_counts(1, 0);
	/* nothing of it reached alice but her 100 */
	for (unsigned i = 0; i < nsent; i++)
		if (ntohs(sent[i].to.sin_port) == 5061)
			assert_int_equal(sent_msg(i)->status, 100);
	/* the worker answers that party's challenges to its own requests in
	 * the new call with the same credentials */
	response_from_bob(base + 1, 200, "b2");
	assert_int_equal(ninstall, 1);
	assert_int_equal(last_install.auth_key, route_key("carrier", "127.0.0.1:5090"));
	assert_int_equal(last_install.legs[SHARD_LEG_B].local_cseq, 2);
}

/* A call replacing a dialog whose other party is at port, passed key:
 * the 407 of that party reaches the caller, and no INVITE goes again. */
static void challenge_reaches_the_caller(uint16_t port, uint32_t key)
{
	/* passed on, as by a route without auth */
	unsigned base = replacing_call_challenged(port, key, 1);
	assert_int_equal(sent_msg(base + 1)->status, 407);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5061);
	assert_auth_counts(0, 0);
}

/* The dialog's other party is its caller (leg A's: the worker passes no
 * key), even at a route target's address: no credentials go to it. */
static void test_replacing_call_sends_no_credentials_to_a_caller(void **state)
{
	(void)state;
	challenge_reaches_the_caller(5090, 0);
}

/* The key names the route at a target it no longer has, that party's (a
 * reload moved the route to another carrier): not that route's credentials. */
static void test_replacing_call_sends_no_credentials_off_the_route(void **state)
{
	(void)state;
	challenge_reaches_the_caller(5099, route_key("carrier", "127.0.0.1:5099"));
}

/* The same, and that party answers the new INVITE 200 without a challenge:
 * the new call's dialog goes to the worker without the moved route's key,
 * by which the worker would answer that party's challenges to its own
 * requests in the new call (orig_creds_find by key alone) with the account
 * of the carrier the route now goes to. Before, the install carried the
 * named dialog's key whatever the route had become. */
static void test_replacing_call_keeps_no_key_off_the_route(void **state)
{
	(void)state;
	make_leg_y();
	test_addr_in(&bob, "127.0.0.1", 5099);
	memcpy(&leg_y.peer, &bob, sizeof(bob));
	leg_y_auth_key = route_key("carrier", "127.0.0.1:5099");
	replacing_invite_from_alice(
	    "Replaces: p1call@10.2.2.2;to-tag=kshardtag;from-tag=p1tag\r\n" ALICES_CREDENTIALS);
	unsigned inv = invite_to_bob();
	assert_int_equal(ntohs(sent[inv].to.sin_port), 5099);
	response_from_bob(inv, 200, "b2");
	assert_int_equal(ninstall, 1);
	assert_int_equal(last_install.state, SHARD_DLG_CONFIRMED);
	assert_int_equal(last_install.auth_key, 0);
}

/* timers.session_expires_s asks the party of a replaced dialog for a
 * session timer as any callee; its 422 is answered with its Min-SE, by an
 * INVITE to the same party by the same Route, naming the same dialog. Before,
 * the 422 reached the caller, who had asked for no interval. */
static void test_replacing_call_raises_session_interval_on_422(void **state)
{
	struct ctl_stats st;
	(void)state;

	make_leg_y();
	replacing_invite_from_alice("Replaces: p1call@10.2.2.2;to-tag=kshardtag;from-tag=p1tag");
	unsigned inv = invite_to_bob(), base = nsent;
	assert_true(sip_view_eq(sent[inv].buf, out.session_expires, "90", 2));
	response_from_bob_with(inv, 422, "x1", "Min-SE: 1800\r\n", 1100);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_replacing_invite_again(inv, base + 1);
	const struct sip_msg *again = sent_msg(base + 1);
	assert_true(sip_view_eq(sent[base + 1].buf, again->session_expires, "1800", 4));
	uint32_t min_se = 0;
	assert_true(sip_hdr_delta_seconds(again, SIP_HDR_MIN_SE, &min_se));
	assert_int_equal(min_se, 1800);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.session_interval_raised, 1);
}

#define WITH_CONFIG(test, cfg)                                                                     \
	cmocka_unit_test_prestate_setup_teardown(test, setup_config, teardown, (void *)(cfg))

/* The CANCEL towards leg B was once sent once and never retransmitted
 * (RFC 3261 17.1.2.2: a non-INVITE client transaction over UDP resends its
 * request from T1 doubling up to T2 until a final response or Timer F). */
static void test_cancel_to_b_is_retransmitted(void **state)
{
	struct tick_send log[32];
	(void)state;

	invite_from_alice(); /* at 1000 */
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "ringing"); /* at 1100 */
	unsigned base = nsent;
	cancel_from_alice(); /* at 1000 in the harness clock; 200 to alice, CANCEL to bob */
	unsigned cancels = 0;
	for (unsigned i = base; i < nsent; i++)
		if (sent_msg(i)->is_request && out.method_id == SIP_METHOD_CANCEL)
			cancels++;
	assert_int_equal(cancels, 1);
	/* bob's 200 to the CANCEL never comes (the CANCEL was lost): the CANCEL
	 * must be resent by Timer E (at 1500, 2500, 4500, ...) */
	unsigned n = tick_through(1100, 33000, log, 32);
	unsigned resent = 0;
	for (unsigned i = 0; i < n; i++)
		if (log[i].method == SIP_METHOD_CANCEL && log[i].port == 5090)
			resent++;
	if (resent == 0)
		fail_msg("CANCEL to leg B never retransmitted in 32 s (%u datagrams sent by "
			 "ticks); the callee keeps ringing until timers.no_answer_s",
			 n);
}

/* RFC 3261 9.1: "If no provisional response has been received,
 * the CANCEL request MUST NOT be sent". It once was, at once; and as it was
 * sent once only, a callee that sees it before the INVITE (the first INVITE lost,
 * the CANCEL answered 481) rings on when Timer A's INVITE reaches it, and
 * gets no CANCEL until timers.no_answer_s (120 s). */
static void test_no_cancel_to_b_before_a_provisional(void **state)
{
	struct tick_send log[32];
	(void)state;

	invite_from_alice(); /* at 1000: lost on its way to bob */
	(void)invite_to_bob();
	unsigned base = nsent;
	cancel_from_alice(); /* bob has sent nothing yet */
	bool early = false;
	for (unsigned i = base; i < nsent; i++)
		if (sent_msg(i)->is_request && out.method_id == SIP_METHOD_CANCEL)
			early = true;
	/* bob would answer that CANCEL 481 (no transaction); the INVITE,
	 * delayed, reaches him after it and he rings */
	(void)tick_through(1000, 1500, log, 32);
	unsigned inv = invite_to_bob();
	response_from_bob_at(inv, 180, "ring", 1600);
	unsigned n = tick_through(1600, 60000, log, 32);
	unsigned later = 0;
	for (unsigned i = 0; i < n; i++)
		if (log[i].method == SIP_METHOD_CANCEL && log[i].port == 5090)
			later++;
	if (early || !later)
		fail_msg("CANCEL before any provisional: %s; CANCELs after bob's 180 within "
			 "58 s: %u",
			 early ? "sent (RFC 3261 9.1: MUST NOT)" : "not sent", later);
}

/* ---- the caller's CANCEL Reason (RFC 3326) ------------------------------- */

/* A SIP and a Q.850 cause, as a hunt group or forking proxy sends when another
 * phone answered: what leg B's CANCEL must carry, byte for byte. */
static const char completed_elsewhere[] =
    "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"
    "Reason: Q.850;cause=26;text=\"non-selected user clearing\"\r\n";

/* alice CANCELs the INVITE of invite_from_alice, with extra header lines. */
static void cancel_from_alice_with(const char *extra)
{
	from_alice("CANCEL sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 CANCEL\r\n"
		   "%s"
		   "Content-Length: 0\r\n\r\n",
		   extra);
}

/* The index of the last CANCEL sent to bob at or after from; fails when none. */
static unsigned cancel_to_bob_since(unsigned from)
{
	for (unsigned i = nsent; i-- > from;)
		if (sent_msg(i)->is_request && out.method_id == SIP_METHOD_CANCEL &&
		    ntohs(sent[i].to.sin_port) == 5090)
			return i;
	fail_msg("no CANCEL sent to bob");
	return 0;
}

static bool sent_has(unsigned i, const char *s)
{
	return memmem(sent[i].buf, sent[i].len, s, strlen(s)) != NULL;
}

/* Ticks at `at` and returns the CANCEL it resent to bob (Timer E), whole. */
static struct sent timer_e_cancel(uint64_t at)
{
	unsigned base = nsent;
	ctl_on_tick(ctl, at);
	struct sent got = sent[cancel_to_bob_since(base)];
	nsent = base;
	return got;
}

/* The caller's Reason lines reach the callee's CANCEL in order, and every
 * Timer E retransmission of it is the same datagram; a malformed one is
 * left out and counted; a second CANCEL from the caller (another Reason)
 * changes nothing of a CANCEL already on its way. */
static void test_cancel_reason_reaches_callee(void **state)
{
	struct ctl_stats st;
	char extra[512];
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "ringing");
	unsigned base = nsent;
	snprintf(extra, sizeof(extra), "%.*sReason: SIP;cause=2x0;text=\"evil\"\r\n%s",
		 (int)strcspn(completed_elsewhere, "\n") + 1, completed_elsewhere,
		 strchr(completed_elsewhere, '\n') + 1);
	cancel_from_alice_with(extra);
	unsigned i = cancel_to_bob_since(base);
	if (!sent_has(i, completed_elsewhere))
		fail_msg("bob's CANCEL lacks alice's Reason lines:\n%.*s", (int)sent[i].len,
			 sent[i].buf);
	assert_false(sent_has(i, "evil"));
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.cancel_reasons_dropped, 1);
	struct sent first = sent[i];

	struct sent again = timer_e_cancel(1500);
	assert_int_equal(again.len, first.len);
	assert_memory_equal(again.buf, first.buf, first.len);
	cancel_from_alice_with("Reason: SIP;cause=486\r\n");
	again = timer_e_cancel(2500);
	assert_int_equal(again.len, first.len);
	assert_memory_equal(again.buf, first.buf, first.len);
}

/* strip_headers naming Reason: the caller's Reason lines are header fields
 * of leg A that must not reach leg B, in its CANCEL as in anything relayed;
 * sipshard's own Reason (timers.no_answer_s) is not the caller's and stays. */
static const char strip_reason_config[] = SMALL_CONFIG_HEAD
    " \"strip_headers\": [\"reason\"],"
    " \"routes\": [{\"name\": \"b\", \"match\": {\"user_prefix\": \"\", \"domain\": null,"
    "  \"source\": null}, \"target\": \"127.0.0.1:5090\"}]}";

static void test_cancel_reason_stripped(void **state)
{
	struct ctl_stats st;
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "ringing");
	unsigned base = nsent;
	cancel_from_alice_with(completed_elsewhere);
	unsigned i = cancel_to_bob_since(base);
	if (sent_has(i, "Reason"))
		fail_msg("strip_headers names Reason, yet bob's CANCEL carries alice's:\n%.*s",
			 (int)sent[i].len, sent[i].buf);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.cancel_reasons_dropped, 0);
}

/* A CANCEL without Reason gives a CANCEL without one. */
static void test_cancel_without_reason_has_none(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "ringing");
	unsigned base = nsent;
	cancel_from_alice();
	assert_false(sent_has(cancel_to_bob_since(base), "Reason"));
}

/* A CANCEL that comes before any provisional waits for one (RFC 3261 9.1),
 * and its Reason with it. */
static void test_cancel_reason_waits_for_a_provisional(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	cancel_from_alice_with(completed_elsewhere);
	unsigned base = nsent;
	response_from_bob(inv, 180, "ringing");
	assert_true(sent_has(cancel_to_bob_since(base), completed_elsewhere));
}

/* The same across a restart: the Reason is in the record's file, and
 * Timer E's CANCEL of the new process carries it. */
static void test_cancel_reason_after_restart(void **state)
{
	(void)state;
	invite_from_alice();
	response_from_bob(invite_to_bob(), 180, "ringing");
	cancel_from_alice_with(completed_elsewhere);
	assert_int_equal(restart(), 1);
	struct sent again = timer_e_cancel(1500);
	assert_non_null(
	    memmem(again.buf, again.len, completed_elsewhere, strlen(completed_elsewhere)));
}

/* The CANCEL of timers.no_answer_s says why: the 408 the caller gets. */
static void test_no_answer_cancel_has_a_reason(void **state)
{
	(void)state;
	invite_from_alice(); /* at 1000 */
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "ringing");
	unsigned base = nsent;
	for (uint64_t t = 1110; t <= 121000 && nsent == base; t += 10)
		ctl_on_tick(ctl, t);
	unsigned i = cancel_to_bob_since(base);
	assert_true(sent_has(i, "\r\nReason: SIP;cause=408;text=\"Request Timeout\"\r\n"));
	/* alice's CANCEL now ends the call with a 487, but does not change
	 * the CANCEL on its way */
	struct sent first = sent[i];
	cancel_from_alice_with(completed_elsewhere);
	struct sent again = timer_e_cancel(121500);
	assert_int_equal(again.len, first.len);
	assert_memory_equal(again.buf, first.buf, first.len);
}

/* A record whose CANCEL Reason lines were torn (here a cause no longer
 * digits) would send the callee what no caller could have: freed as
 * malformed, as its other texts are. */
static void test_record_reason_torn(void **state)
{
	(void)state;

	invite_from_alice();
	response_from_bob(invite_to_bob(), 180, "ringing");
	cancel_from_alice_with(completed_elsewhere); /* kept for Timer E */
	tear_first_record_and_reopen("cause=26", 7, 'x');
}

/* An INVITE retransmitted while the call is COMPLETED once got a
 * locally made final instead of the final that was relayed (and that Timer
 * G resends): a 407's Proxy-Authenticate (or a 486's Retry-After, a body) is
 * missing, so a caller whose first 407 was lost cannot authenticate. */
static void test_retransmitted_invite_gets_the_relayed_final(void **state)
{
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	unsigned base = nsent;
	response_from_bob_with(inv, 407, "btag",
			       "Proxy-Authenticate: Digest realm=\"carrier\", nonce=\"abc\"\r\n",
			       1100);
	/* ACK to bob, then the 407 to alice, with its challenge */
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base + 1)->status, 407);
	assert_non_null(memmem(sent[base + 1].buf, sent[base + 1].len, "Proxy-Authenticate", 18));

	/* alice did not get it: her INVITE again */
	base = nsent;
	invite_from_alice();
	assert_int_equal(nsent, base + 1);
	assert_int_equal(sent_msg(base)->status, 407);
	if (!memmem(sent[base].buf, sent[base].len, "Proxy-Authenticate", 18))
		fail_msg("the 407 resent for alice's retransmitted INVITE has no "
			 "Proxy-Authenticate:\n%.*s",
			 (int)sent[base].len, sent[base].buf);
}

/* A 2xx from a second fork (another To tag) after the call was
 * answered was once relayed to the caller as a retransmission of the first, and
 * the second callee is never ACKed nor sent a BYE (RFC 3261 13.2.2.4): its
 * phone stays answered, with nobody on the call, until its own timeout. */
static void test_second_fork_2xx_acked_and_ended(void **state)
{
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 200, "fork1");
	unsigned base = nsent;
	response_from_bob(inv, 200, "fork2");
	bool ack = false, bye = false;
	for (unsigned i = base; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (s->is_request && s->method_id == SIP_METHOD_ACK &&
		    ntohs(sent[i].to.sin_port) == 5090)
			ack = true;
		if (s->is_request && s->method_id == SIP_METHOD_BYE &&
		    ntohs(sent[i].to.sin_port) == 5090)
			bye = true;
	}
	if (!ack || !bye) {
		fail_msg("2xx of a second fork: ACK %s, BYE %s to it; %u datagram(s) sent, the "
			 "first: %.*s",
			 ack ? "sent" : "not sent", bye ? "sent" : "not sent", nsent - base,
			 nsent > base ? 40 : 0, nsent > base ? sent[base].buf : "");
	}
}

/* After a failover on silence (failover_ms), the target left
 * behind may still ring (its 180 arrives late): it is never sent a CANCEL
 * (RFC 3261 9.1 once a provisional came), so the callee there keeps ringing
 * for a call that went elsewhere. The 180 is only counted as an unknown
 * response. */
static void test_left_target_ringing_is_cancelled(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	invite_from_alice(); /* at 1000 */
	unsigned inv = invite_to_bob();
	for (uint64_t t = 1010; t <= 2000; t += 10)
		ctl_on_tick(ctl, t);
	(void)last_invite_sent(&port);
	assert_int_equal(port, 5091); /* failed over after 1 s of silence */
	unsigned base = nsent;
	response_from_bob_at(inv, 180, "late1", 2100); /* the first target rings now */
	bool cancel = false;
	struct sip_view_copy old = invite_ids(inv);
	for (unsigned i = base; i < nsent; i++)
		if (sent_msg(i)->is_request && out.method_id == SIP_METHOD_CANCEL &&
		    ntohs(sent[i].to.sin_port) == 5090) {
			/* the old INVITE's transaction: its branch, CSeq, no To tag */
			assert_true(sip_view_eq(sent[i].buf, out.vias[0].branch, old.branch,
						strlen(old.branch)));
			assert_int_equal(out.cseq.num, old.cseq);
			assert_false(out.to.has_tag);
			cancel = true;
		}
	ctl_get_stats(ctl, &st);
	if (!cancel)
		fail_msg("180 from the target left behind: no CANCEL sent to it "
			 "(dropped_unknown_response %llu)",
			 (unsigned long long)st.dropped_unknown_response);
}

/* A provisional after the call's answer has nothing left to do: it once
 * went uncounted (README.md's invariant 4). */
static void test_provisional_after_the_answer_is_a_counted_drop(void **state)
{
	struct ctl_stats st;
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 200, "btag");
	unsigned n = nsent;
	response_from_bob_at(inv, 180, "btag", 1200);
	assert_int_equal(nsent, n);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.late_provisionals, 1);
}

/* The first request of method sent at or after base to port, or fails. */
static unsigned request_sent_to(unsigned base, enum sip_method method, uint16_t port)
{
	for (unsigned i = base; i < nsent; i++)
		if (sent_msg(i)->is_request && out.method_id == method &&
		    ntohs(sent[i].to.sin_port) == port)
			return i;
	fail_msg("no request of method %d sent to port %u", (int)method, port);
	return 0;
}

/* A call to a bob who sends nothing until Timer B (33000: the caller gets
 * 408); the ids and Request-URI of leg B's INVITE (sent[*inv]). */
static struct sip_view_copy given_up_at_timer_b(unsigned *inv, char *ruri, size_t cap)
{
	struct tick_send log[16];

	invite_from_alice(); /* at 1000 */
	*inv = invite_to_bob();
	const struct sip_msg *x = sent_msg(*inv);
	snprintf(ruri, cap, "%.*s", (int)x->ruri.whole.len, sent[*inv].buf + x->ruri.whole.off);
	struct sip_view_copy ids = invite_ids(*inv);
	unsigned n = tick_through(1000, 33000, log, 16);
	assert_int_equal(n, 7); /* Timer A six times, then the 408 */
	assert_tick_send(&log[6], 33000, 408, "a1@10.1.1.1", 5061);
	return ids;
}

/* sent[i] is the CANCEL of the INVITE whose ids and Request-URI these are
 * (RFC 3261 9.1: its branch, Call-ID, From, CSeq number, Request-URI, and
 * the To without the tag of any response), to bob, saying why. */
static void assert_cancel_of(unsigned i, const struct sip_view_copy *ids, const char *ruri,
			     const char *reason)
{
	const struct sip_msg *x = sent_msg(i);
	assert_int_equal(x->method_id, SIP_METHOD_CANCEL);
	assert_int_equal(ntohs(sent[i].to.sin_port), 5090);
	assert_true(sip_view_eq(sent[i].buf, x->vias[0].branch, ids->branch, strlen(ids->branch)));
	assert_true(sip_view_eq(sent[i].buf, x->call_id, ids->call_id, strlen(ids->call_id)));
	assert_true(sip_view_eq(sent[i].buf, x->from.tag, ids->from_tag, strlen(ids->from_tag)));
	assert_true(sip_view_eq(sent[i].buf, x->ruri.whole, ruri, strlen(ruri)));
	assert_int_equal(x->cseq.num, ids->cseq);
	assert_int_equal(x->cseq.method_id, SIP_METHOD_CANCEL);
	assert_false(x->to.has_tag);
	assert_int_equal(x->nvias, 1);
	if (!memmem(sent[i].buf, sent[i].len, reason, strlen(reason)))
		fail_msg("the CANCEL lacks \"%s\":\n%.*s", reason, (int)sent[i].len, sent[i].buf);
}

/* The ring of given-up INVITEs is in setups.tbl with the records: Timer B
 * gave leg B's INVITE up and the caller ACKed its 408 (no record is left),
 * then the process restarts; bob's late 180 still gets the CANCEL of that
 * INVITE, and a 2xx that crosses it its ACK and BYE. Before, the ring was
 * in the stopped process's memory only: the 180 was dropped as unknown and
 * bob rang on. A ring whose entries all ran out is given back at close. */
static void test_given_up_kept_across_restart(void **state)
{
	struct ctl_stats st;
	unsigned inv;
	char ruri[128], err[256];
	(void)state;

	struct sip_view_copy ids = given_up_at_timer_b(&inv, ruri, sizeof(ruri));
	ack_from_alice();
	ctl_close(ctl);
	policy_destroy(pol);
	assert_int_equal(policy_create(&pol, &cfg, err, sizeof(err)), 0);
	assert_int_equal(ctl_open(&ctl, &cfg, pol, 1, DIALOGS, &hooks, setups_path, 33500), 0);
	const struct shard_table *tables[] = {&table};
	assert_int_equal(ctl_restore(ctl, tables, 33500), 0);
	ctl_adopt(ctl, 0, &table, 33500);

	unsigned base = nsent;
	response_from_bob_at(inv, 180, "late", 34000);
	assert_int_equal(nsent, base + 1);
	assert_cancel_of(base, &ids, ruri, "Reason: SIP;cause=408");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.late_provisionals_cancelled, 1);
	assert_int_equal(st.dropped_unknown_response, 0);
	base = nsent;
	response_from_bob_at(inv, 200, "late", 34100);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(sent_msg(base + 1)->method_id, SIP_METHOD_BYE);

	/* 64*T1 after Timer B the entry is forgotten: a ring with nothing
	 * left is not kept in the file */
	static struct tick_send log[64]; /* the CANCEL's and BYE's Timer E */
	tick_through(34100, 66000, log, 64);
	struct stat sb;
	ctl_close(ctl);
	ctl = NULL;
	assert_int_equal(stat(setups_path, &sb), 0);
	assert_true((size_t)sb.st_blocks * 512 <= 4 * 4096);
}

/* A given-up INVITE (Timer B) answered by two forks (a forking proxy passes
 * on every 2xx, RFC 3261 16.7): each dialog gets its ACK and its BYE
 * (13.2.2.4). One BYE for the INVITE left the second fork's callee in a call
 * nobody was on. */
static void test_given_up_invite_answered_by_two_forks(void **state)
{
	unsigned inv;
	char ruri[128];
	(void)state;
	given_up_at_timer_b(&inv, ruri, sizeof(ruri));
	ack_from_alice();
	response_from_bob_at(inv, 180, "forkA", 34000); /* its CANCEL goes */
	unsigned base = nsent;
	response_from_bob_at(inv, 200, "forkA", 34100);
	assert_true(last_to_bob(base, SIP_METHOD_ACK) >= 0);
	assert_true(last_to_bob(base, SIP_METHOD_BYE) >= 0);
	base = nsent;
	response_from_bob_at(inv, 200, "forkB", 34200);
	int bye = last_to_bob(base, SIP_METHOD_BYE);
	if (bye < 0)
		fail_msg("the second fork's 2xx got no BYE");
	assert_true(sip_view_eq(sent[bye].buf, sent_msg((unsigned)bye)->to.tag, "forkB", 5));
	/* a copy of that 2xx gets the ACK alone */
	base = nsent;
	response_from_bob_at(inv, 200, "forkB", 34300);
	assert_true(last_to_bob(base, SIP_METHOD_ACK) >= 0);
	assert_int_equal(last_to_bob(base, SIP_METHOD_BYE), -1);
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, 2);
}

/* Timer B gave leg B's INVITE up and the caller ACKed its 408 (the record is
 * gone); then bob rings after all. RFC 3261 9.1: a CANCEL may only go once a
 * provisional came, so a UAC that wanted to cancel sends it then. It got
 * none: bob rang on until his own timeout, then answered 200 to nobody. Now
 * the 180 gets the CANCEL of that INVITE (a transaction of its own, resent
 * until answered; one only, whatever provisionals follow), a 2xx that
 * crossed it is ACKed and ended with a BYE (once: its retransmissions get
 * the ACK again), and 64*T1 after Timer B the INVITE is forgotten. A 100
 * alone says nobody rings yet: nothing is sent for it. */
static void test_ringing_after_timer_b_is_cancelled(void **state)
{
	struct tick_send log[16];
	struct ctl_stats st, before;
	unsigned inv;
	char ruri[128];
	(void)state;

	struct sip_view_copy ids = given_up_at_timer_b(&inv, ruri, sizeof(ruri));
	ack_from_alice();
	ctl_get_stats(ctl, &before);
	assert_int_equal(before.acks_absorbed, 1);

	unsigned base = nsent;
	response_from_bob_at(inv, 100, NULL, 33900);
	assert_int_equal(nsent, base);
	response_from_bob_at(inv, 180, "late", 34000);
	assert_int_equal(nsent, base + 1);
	unsigned cancel = base;
	assert_cancel_of(cancel, &ids, ruri, "Reason: SIP;cause=408");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.late_provisionals_cancelled, 1);
	assert_int_equal(st.dropped_unknown_response, before.dropped_unknown_response);

	base = nsent;
	response_from_bob_at(inv, 183, "late", 34050); /* that CANCEL is on its way */
	assert_int_equal(nsent, base);
	unsigned n = tick_through(34050, 34500, log, 16); /* Timer E: T1 after it */
	assert_int_equal(n, 1);
	assert_int_equal(log[0].method, SIP_METHOD_CANCEL);
	assert_int_equal(log[0].port, 5090);
	response_from_bob_at(cancel, 200, "late", 34600);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_requests_answered, before.stale_requests_answered + 1);
	assert_int_equal(tick_through(34600, 40000, log, 16), 0);

	/* bob's 200 crossed the CANCEL */
	base = nsent;
	response_from_bob_at(inv, 200, "late", 40000);
	assert_int_equal(nsent, base + 2);
	const struct sip_msg *x = sent_msg(base);
	assert_int_equal(x->method_id, SIP_METHOD_ACK);
	assert_int_equal(x->cseq.num, ids.cseq);
	assert_true(sip_view_eq(sent[base].buf, x->to.tag, "late", 4));
	assert_int_equal(ntohs(sent[base].to.sin_port), 5090);
	x = sent_msg(base + 1);
	assert_int_equal(x->method_id, SIP_METHOD_BYE);
	assert_true(sip_view_eq(sent[base + 1].buf, x->to.tag, "late", 4));
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5090);
	base = nsent;
	response_from_bob_at(inv, 200, "late", 40500); /* not ACKed yet, he says */
	assert_int_equal(nsent, base + 1);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, 1);
	assert_int_equal(st.late_provisionals_cancelled, 1);
	assert_int_equal(ninstall, 0);

	/* 64*T1 after Timer B: forgotten, an unknown response like any */
	base = nsent;
	response_from_bob_at(inv, 180, "late", 33000 + 32000);
	assert_int_equal(nsent, base);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.dropped_unknown_response, before.dropped_unknown_response + 1);
}

/* The same while the caller has not ACKed its 408 yet (the record waits for
 * it, Timer G): the 180 was counted as late and dropped. */
static void test_ringing_after_timer_b_before_the_ack_is_cancelled(void **state)
{
	struct ctl_stats st;
	unsigned inv;
	char ruri[128];
	(void)state;

	struct sip_view_copy ids = given_up_at_timer_b(&inv, ruri, sizeof(ruri));
	unsigned base = nsent;
	response_from_bob_at(inv, 180, "late", 33100);
	assert_int_equal(nsent, base + 1);
	assert_cancel_of(base, &ids, ruri, "Reason: SIP;cause=408");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.late_provisionals_cancelled, 1);
	base = nsent;
	response_from_bob_at(inv, 180, "late", 33200);
	assert_int_equal(nsent, base);

	/* a 2xx crossing it: ACK and BYE, and the caller still gets the 408 */
	response_from_bob_at(inv, 200, "late", 33300);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(sent_msg(base + 1)->method_id, SIP_METHOD_BYE);
	assert_int_equal(ninstall, 0);
	ack_from_alice();
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.acks_absorbed, 1);
}

/* The caller CANCELs before bob sent anything. Leg B's CANCEL must wait
 * for a provisional (RFC 3261 9.1), and the caller's 487 once waited with
 * it: 32 s (Timer B) when none came. sipshard is the caller's UAS (9.2):
 * 200 and 487 at once, no Timer A after that, the call counted and written
 * cancelled; a 180 after it (the record still waits for the caller's ACK)
 * gets the CANCEL with the caller's Reason, once, and a 200 that crossed it
 * (the record gone) ACK and BYE. */
static void test_cancel_before_a_provisional_is_answered_at_once(void **state)
{
	static const char reason[] = "Reason: SIP;cause=200;text=\"Call completed elsewhere\"";
	char extra[128];
	struct tick_send log[16];
	struct ctl_stats st;
	(void)state;

	invite_from_alice(); /* at 1000 */
	unsigned inv = invite_to_bob();
	struct sip_view_copy ids = invite_ids(inv);
	const struct sip_msg *x = sent_msg(inv);
	char ruri[128];
	snprintf(ruri, sizeof(ruri), "%.*s", (int)x->ruri.whole.len,
		 sent[inv].buf + x->ruri.whole.off);
	unsigned base = nsent;
	snprintf(extra, sizeof(extra), "%s\r\n", reason);
	cancel_from_alice_with(extra);
	if (nsent != base + 2 || sent_msg(base + 1)->status != 487)
		fail_msg("CANCEL before any provisional: %u datagram(s) at once, the last %.*s; "
			 "the caller waits for its 487 until Timer B",
			 nsent - base, nsent > base ? 24 : 0,
			 nsent > base ? sent[nsent - 1].buf : "");
	assert_int_equal(sent_msg(base)->status, 200);
	assert_int_equal(out.cseq.method_id, SIP_METHOD_CANCEL);
	assert_int_equal(ntohs(sent[base].to.sin_port), 5061);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5061);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_cancelled, 1);
	assert_int_equal(ncdrs, 1);
	assert_string_equal(cdr_str(0, "disposition"), "cancelled");
	assert_int_equal(cdr_int(0, "status"), 487);
	/* Timer G's 487 at 1500, and no INVITE to bob again (Timer A) */
	unsigned n = tick_through(1000, 1600, log, 16);
	assert_int_equal(n, 1);
	assert_tick_send(&log[0], 1500, 487, "a1@10.1.1.1", 5061);

	base = nsent;
	response_from_bob_at(inv, 180, "late", 1700);
	assert_int_equal(nsent, base + 1);
	assert_cancel_of(base, &ids, ruri, reason);
	response_from_bob_at(inv, 180, "late", 1750); /* that CANCEL is on its way */
	assert_int_equal(nsent, base + 1);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.late_provisionals_cancelled, 1);

	ack_from_alice();
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.acks_absorbed, 1);
	base = nsent;
	response_from_bob_at(inv, 200, "late", 1800);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(sent_msg(base + 1)->method_id, SIP_METHOD_BYE);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5090);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, 1);
	assert_int_equal(ninstall, 0);
	assert_int_equal(ncdrs, 1);
}

/* The same once the call's record is gone (answered at the next target, its
 * record gave way to new calls while it lingered): the 180 of the target
 * left behind was an unknown response, and its callee rang on. It gets the
 * CANCEL of the INVITE left there, kept since the failover (no Reason: the
 * call went on elsewhere), once; a 2xx from it is ACKed and ended with a
 * BYE. (A record that lingers its whole 64*T1 outlasts that INVITE, kept
 * 64*T1 from the failover, before the answer.) */
static void test_left_target_ringing_after_the_record_left_is_cancelled(void **state)
{
	uint16_t port;
	struct ctl_stats st;
	(void)state;

	invite_from_alice(); /* at 1000 */
	unsigned inv = invite_to_bob();
	struct sip_view_copy ids = invite_ids(inv);
	const struct sip_msg *x = sent_msg(inv);
	char ruri[128];
	snprintf(ruri, sizeof(ruri), "%.*s", (int)x->ruri.whole.len,
		 sent[inv].buf + x->ruri.whole.off);
	for (uint64_t t = 1010; t <= 2000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(port, 5091);
	test_addr_in(&bob, "127.0.0.1", 5091);
	response_from_bob_at(inv2, 200, "b2", 2100);
	assert_int_equal(ninstall, 1);
	/* new calls take the other 15 set-up records; the 16th takes the
	 * lingering record's */
	ctl_get_stats(ctl, &st);
	const uint64_t evicted = st.linger_evicted;
	const uint64_t gone = 2200;
	alice_now = gone;
	for (int n = 0; n < 16; n++)
		numbered_invite(n);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.linger_evicted, evicted + 1);
	test_addr_in(&bob, "127.0.0.1", 5090);
	unsigned base = nsent;
	response_from_bob_at(inv, 180, "late1", gone + 100);
	assert_int_equal(nsent, base + 1);
	assert_cancel_of(base, &ids, ruri, "CSeq: 1 CANCEL");
	assert_null(memmem(sent[base].buf, sent[base].len, "Reason", 6));
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.late_provisionals_cancelled, 1);
	assert_int_equal(st.dropped_unknown_response, 0);
	base = nsent;
	response_from_bob_at(inv, 183, "late1", gone + 200);
	assert_int_equal(nsent, base);
	response_from_bob_at(inv, 200, "late1", gone + 300);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base)->method_id, SIP_METHOD_ACK);
	assert_int_equal(sent_msg(base + 1)->method_id, SIP_METHOD_BYE);
	assert_int_equal(ntohs(sent[base + 1].to.sin_port), 5090);
	assert_int_equal(ninstall, 1);
}

/* alice's INVITE of invite_from_alice (its Call-ID, From tag, branch: her
 * CANCEL and ACK match it) from from_user to to_user, whose Request-URI
 * user (+15551234) is not its To user, as a phone that dials a number
 * while the To names the person does. */
static void invite_from_alice_as(const char *from_user, const char *to_user)
{
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:%s@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:%s@127.0.0.1>\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		   "Content-Length: 0\r\n\r\n",
		   from_user, to_user);
}

/* bob's response to leg B's INVITE sent[inv] with its To as it came, as a
 * callee writes it (RFC 3261 8.2.6.2), and to_tag, at now. */
static void echoing_response_from_bob(unsigned inv, int status, const char *to_tag, uint64_t now)
{
	char branch[128], call_id[128], from_tag[128], to[512];
	const struct sip_msg *i = sent_msg(inv);
	snprintf(branch, sizeof(branch), "%.*s", i->vias[0].branch.len,
		 sent[inv].buf + i->vias[0].branch.off);
	snprintf(call_id, sizeof(call_id), "%.*s", i->call_id.len, sent[inv].buf + i->call_id.off);
	snprintf(from_tag, sizeof(from_tag), "%.*s", i->from.tag.len,
		 sent[inv].buf + i->from.tag.off);
	unsigned cseq = (unsigned)i->cseq.num;
	snprintf(to, sizeof(to), "%s", sent_hdr(inv, SIP_HDR_TO));
	int n = snprintf(in, sizeof(in),
			 "SIP/2.0 %d %s\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s\r\n"
			 "From: <sip:alice@127.0.0.1>;tag=%s\r\n"
			 "To: %s;tag=%s\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u INVITE\r\n"
			 "Contact: <sip:bob@127.0.0.1:5090>\r\n"
			 "Content-Length: 0\r\n\r\n",
			 status, sip_reason_phrase(status), branch, from_tag, to, to_tag, call_id,
			 cseq);
	assert_int_equal(sip_parse(&m, in, (size_t)n, NULL), 0);
	ctl_on_datagram(ctl, 0, &m, (const struct sockaddr *)&bob, sizeof(bob), now);
}

/* leg B's INVITE sent[inv]: its ids, and its Request-URI in ruri; fails
 * when that is its To URI (the case these tests are about). */
static struct sip_view_copy ids_and_ruri(unsigned inv, char *ruri, size_t cap)
{
	struct sip_view_copy ids = invite_ids(inv);
	const struct sip_msg *x = sent_msg(inv);
	snprintf(ruri, cap, "%.*s", (int)x->ruri.whole.len, sent[inv].buf + x->ruri.whole.off);
	assert_false(sip_view_eq(sent[inv].buf, x->to.uri.whole, ruri, strlen(ruri)));
	return ids;
}

/* The CANCEL of a target left after failover_ms that rings once took its
 * Request-URI from the 180's To URI: RFC 3261 9.1 wants the INVITE's,
 * which is not that when the Request-URI user is not the To user. It is the
 * INVITE's own, kept since the failover. */
static void test_left_target_cancel_has_the_invite_request_uri(void **state)
{
	uint16_t port;
	char ruri[128];
	(void)state;

	invite_from_alice_as("alice", "bob");
	unsigned inv = invite_to_bob();
	struct sip_view_copy ids = ids_and_ruri(inv, ruri, sizeof(ruri));
	for (uint64_t t = 1010; t <= 2000; t += 10)
		ctl_on_tick(ctl, t);
	(void)last_invite_sent(&port);
	assert_int_equal(port, 5091); /* failed over after 1 s of silence */
	unsigned base = nsent;
	echoing_response_from_bob(inv, 180, "late1", 2100);
	unsigned cancel = request_sent_to(base, SIP_METHOD_CANCEL, 5090);
	assert_cancel_of(cancel, &ids, ruri, "CSeq: 1 CANCEL");
}

/* The same for a given-up INVITE whose CANCEL is too long to keep (a
 * Request-URI user of 1450 bytes, which leg B's Request-URI carries; the
 * entry keeps 1536): built from the provisional, it once had the To URI as
 * its Request-URI. The entry keeps the INVITE's Request-URI instead. (A From
 * user that long once made it; the record refuses such a From URI now.) */
static void test_given_up_cancel_too_long_to_keep_has_the_invite_request_uri(void **state)
{
	static char user[1451];
	struct tick_send log[16];
	static char ruri[1536];
	(void)state;

	memset(user, '5', sizeof(user) - 1);
	from_alice("INVITE sip:%s@127.0.0.1:5060 SIP/2.0\r\n" /* at 1000 */
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:bob@127.0.0.1>\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		   "Content-Length: 0\r\n\r\n",
		   user);
	unsigned inv = invite_to_bob();
	struct sip_view_copy ids = ids_and_ruri(inv, ruri, sizeof(ruri));
	assert_true(strlen(ruri) > 1450);
	unsigned n = tick_through(1000, 33000, log, 16);
	assert_int_equal(n, 7); /* Timer A six times, then the 408 (Timer B) */
	assert_tick_send(&log[6], 33000, 408, "a1@10.1.1.1", 5061);
	unsigned base = nsent;
	echoing_response_from_bob(inv, 180, "late", 33100);
	assert_int_equal(nsent, base + 1);
	assert_cancel_of(base, &ids, ruri, "CSeq: 1 CANCEL");
}

/* Counts the requests of method to port in log (tick_through), checking that
 * each went out at the next of the times in at[] (n of them). */
static void assert_resent_at(const struct tick_send *log, unsigned nlog, enum sip_method method,
			     uint16_t port, const uint64_t *at, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < nlog; i++) {
		if (log[i].status || log[i].method != method || log[i].port != port)
			continue;
		if (k >= n || log[i].at != at[k])
			fail_msg("request %u of method %d to port %u sent at %llu, expected %s%llu",
				 k, (int)method, port, (unsigned long long)log[i].at,
				 k >= n ? "none; the last at " : "",
				 (unsigned long long)at[k < n ? k : n - 1]);
		k++;
	}
	if (k != n)
		fail_msg("%u request(s) of method %d to port %u, expected %u", k, (int)method, port,
			 n);
}

/* bob answers the detached request sent[req] (a CANCEL or BYE to port 5090)
 * 200 at time at: the answer is absorbed, not an unknown response, and the
 * request is sent no more; a copy of the 200 within Timer K (T4, 5 s: the
 * transaction Completed, RFC 3261 17.1.2.2) is absorbed too, sending
 * nothing (it was an unknown response before). */
static void assert_answer_ends_it(unsigned req, const char *to_tag, uint64_t at)
{
	struct tick_send log[32];
	struct ctl_stats before, st;
	enum sip_method method = sent_msg(req)->method_id;

	ctl_get_stats(ctl, &before);
	response_from_bob_at(req, 200, to_tag, at);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.dropped_unknown_response, before.dropped_unknown_response);
	assert_int_equal(st.stale_requests_answered, before.stale_requests_answered + 1);
	unsigned base = nsent;
	response_from_bob_at(req, 200, to_tag, at + 4000);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.dropped_unknown_response, before.dropped_unknown_response);
	assert_int_equal(st.stale_requests_answered, before.stale_requests_answered + 1);
	/* a counted drop still, under its own name */
	assert_int_equal(st.stale_responses_absorbed, before.stale_responses_absorbed + 1);
	assert_int_equal(nsent, base);
	unsigned n = tick_through(at, at + 40000, log, 32);
	assert_resent_at(log, n, method, 5090, NULL, 0);
}

/* Fails over from the silent 5090 to 5091 (at 2000), which sends 100 Trying
 * (so it neither retransmits nor fails over); then 5090 rings after all at
 * 2100. Returns the index of the CANCEL the controller sent 5090 for it. */
static unsigned left_target_rings(unsigned *inv_left)
{
	uint16_t port;

	invite_from_alice(); /* at 1000 */
	unsigned inv = invite_to_bob();
	for (uint64_t t = 1010; t <= 2000; t += 10)
		ctl_on_tick(ctl, t);
	unsigned inv2 = last_invite_sent(&port);
	assert_int_equal(port, 5091);
	test_addr_in(&bob, "127.0.0.1", 5091);
	response_from_bob_at(inv2, 100, NULL, 2050);
	test_addr_in(&bob, "127.0.0.1", 5090);
	unsigned base = nsent;
	response_from_bob_at(inv, 180, "late1", 2100);
	*inv_left = inv;
	return request_sent_to(base, SIP_METHOD_CANCEL, 5090);
}

/* That CANCEL was once sent once: lost, the callee left behind rang on for
 * a call that went elsewhere, and the 200 to it, when it came, was counted
 * dropped_unknown_response. It is now a transaction of its own (RFC 3261
 * 17.1.2): Timer E resends it until its 200. */
static void test_left_target_cancel_resent_until_answered(void **state)
{
	struct tick_send log[32];
	struct ctl_stats st;
	unsigned inv;
	(void)state;

	unsigned cancel = left_target_rings(&inv);
	char first[4096];
	size_t first_len = sent[cancel].len;
	memcpy(first, sent[cancel].buf, first_len);
	unsigned base = nsent;
	response_from_bob_at(inv, 183, "late1", 2200); /* that CANCEL is on its way */
	assert_int_equal(nsent, base);

	unsigned n = tick_through(2200, 3700, log, 32);
	const uint64_t at[] = {2600, 3600}; /* T1, then 2*T1 after it */
	assert_resent_at(log, n, SIP_METHOD_CANCEL, 5090, at, 2);
	assert_int_equal(n, 2);
	ctl_on_tick(ctl, 3710); /* the retransmission is the same request */
	ctl_on_tick(ctl, 5600);
	assert_int_equal(sent[nsent - 1].len, first_len);
	assert_memory_equal(sent[nsent - 1].buf, first, first_len);

	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_requests_retransmitted, 3);
	assert_int_equal(st.stale_provisionals_cancelled, 1);
	assert_answer_ends_it(cancel, "late1", 5700);
}

/* Unanswered, the CANCEL goes on at T2 until Timer F (64*T1), then stops. */
static void test_left_target_cancel_ends_at_timer_f(void **state)
{
	struct tick_send log[32];
	struct ctl_stats st;
	unsigned inv;
	(void)state;

	(void)left_target_rings(&inv);
	unsigned n = tick_through(2100, 60000, log, 32);
	/* T1 = 500 doubling to T2 = 4000 from 2100, until 2100 + 32000 */
	const uint64_t at[] = {2600, 3600, 5600, 9600, 13600, 17600, 21600, 25600, 29600, 33600};
	assert_resent_at(log, n, SIP_METHOD_CANCEL, 5090, at, 10);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_requests_unanswered, 1);
	assert_int_equal(st.stale_requests_answered, 0);
	assert_int_equal(st.stale_requests_retransmitted, 10);
}

/* The BYE that ends a second fork's 2xx (test_second_fork_2xx_acked_and_ended)
 * was sent once: lost, that callee stayed on a call nobody was on. Now it is
 * resent until answered, and its 200 is no unknown response. */
static void test_bye_of_a_second_fork_resent_until_answered(void **state)
{
	struct tick_send log[32];
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 200, "fork1");
	unsigned base = nsent;
	response_from_bob_at(inv, 200, "fork2", 1200);
	unsigned bye = request_sent_to(base, SIP_METHOD_BYE, 5090);
	unsigned n = tick_through(1200, 2700, log, 32);
	const uint64_t at[] = {1700, 2700};
	assert_resent_at(log, n, SIP_METHOD_BYE, 5090, at, 2);

	assert_answer_ends_it(bye, "fork2", 2800);
}

/* The second fork's 2xx sent again (our ACK of it was lost, RFC 3261
 * 13.3.1.4): ACKed again, but its call is being ended already. Each copy
 * got a BYE of its own (a new branch, the same CSeq: 500 or 481 from the
 * callee), and was counted again in stale_answers_ended. */
static void test_second_fork_2xx_retransmitted_gets_one_bye(void **state)
{
	struct ctl_stats st;
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 200, "fork1");
	unsigned base = nsent;
	response_from_bob_at(inv, 200, "fork2", 1200);
	response_from_bob_at(inv, 200, "fork2", 1700);
	unsigned acks = 0, byes = 0;
	for (unsigned i = base; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (s->is_request && ntohs(sent[i].to.sin_port) == 5090) {
			acks += s->method_id == SIP_METHOD_ACK;
			byes += s->method_id == SIP_METHOD_BYE;
		}
	}
	ctl_get_stats(ctl, &st);
	if (acks != 2 || byes != 1 || st.stale_answers_ended != 1)
		fail_msg("second fork's 2xx twice: %u ACK(s), %u BYE(s), stale_answers_ended %llu"
			 "; expected 2, 1, 1",
			 acks, byes, (unsigned long long)st.stale_answers_ended);
}

/* A call the caller CANCELled whose callee answers nothing is
 * kept (and counted against max_calls) until timers.no_answer_s + 64*T1,
 * then counted as calls_timeout with a CDR "timeout"/408: calls_cancelled
 * and the CDR disagree with what happened. */
static void test_cancelled_silent_callee_counts_as_cancelled(void **state)
{
	struct tick_send log[32];
	struct ctl_stats st;
	(void)state;

	invite_from_alice(); /* at 1000 */
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "ringing");
	cancel_from_alice();
	(void)tick_through(1100, 160000, log, 32);
	ctl_get_stats(ctl, &st);
	assert_int_equal(ncdrs, 1);
	if (st.calls_cancelled != 1 || strcmp(cdr_str(0, "disposition"), "cancelled") != 0)
		fail_msg("cancelled call: calls_cancelled %llu, calls_timeout %llu, CDR "
			 "disposition \"%s\" status %lld",
			 (unsigned long long)st.calls_cancelled,
			 (unsigned long long)st.calls_timeout, cdr_str(0, "disposition"),
			 (long long)cdr_int(0, "status"));
}

/* A final made here (the 487 of a call cancelled before leg B said anything,
 * at once) is resent by Timer G and the caller's ACK ends it, as for a
 * relayed one; it was once sent once, and the ACK counted unmatched. */
static void test_local_final_resent_until_acked(void **state)
{
	struct tick_send log[8];
	struct ctl_stats st;
	(void)state;

	invite_from_alice(); /* at 1000 */
	(void)invite_to_bob();
	cancel_from_alice(); /* before any provisional: 487 at once */
	assert_int_equal(sent_msg(nsent - 1)->status, 487);
	unsigned n = tick_through(1000, 1600, log, 8);
	assert_int_equal(n, 1);
	assert_tick_send(&log[0], 1500, 487, "a1@10.1.1.1", 5061); /* Timer G */
	ack_from_alice();
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.acks_absorbed, 1);
	assert_int_equal(st.dropped_unmatched, 0);
	assert_int_equal(st.calls_cancelled, 1);
	assert_int_equal(tick_through(1600, 70000, log, 8), 0);
}

/* The release of an early dialog (a non-2xx final, or the
 * no-answer give-up) goes through a ring that may be full; its failure is
 * ignored and never retried. The worker keeps the early dialog (until
 * timers.dialog_idle_s, 2 h by default), and with it a dialog slot and a
 * limits.max_calls place: a burst of such failures under load makes new
 * calls 503 for hours. */
static unsigned release_tries;
static bool release_refused;
static int refusing_release(void *arg, unsigned shard, uint32_t slot, uint32_t gen)
{
	(void)arg;
	(void)shard;
	(void)slot;
	(void)gen;
	release_tries++;
	return release_refused ? -ENOBUFS : 0;
}

static int setup_refusing_release(void **state)
{
	(void)state;
	open_ctl(false, false);
	ctl_close(ctl);
	hooks.release = refusing_release;
	release_tries = 0;
	release_refused = true;
	assert_int_equal(ctl_open(&ctl, &cfg, pol, 1, DIALOGS, &hooks, NULL, 0), 0);
	return 0;
}

static void test_refused_release_is_retried(void **state)
{
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 183, "early"); /* early dialog installed */
	assert_int_equal(ninstall, 1);
	response_from_bob(inv, 486, "early"); /* release: the ring is full */
	assert_int_equal(release_tries, 1);
	ack_from_alice();
	release_refused = false; /* the ring has room again */
	for (uint64_t t = 1110; t <= 600000; t += 10)
		ctl_on_tick(ctl, t);
	if (release_tries < 2)
		fail_msg("the early dialog's refused release was never tried again (%u tries "
			 "in 10 min); calls counted against max_calls: %u",
			 release_tries, policy_calls(pol));
}

/* The caller's BYE in the early dialog crossing the callee's 2xx.
 * The worker forwards the 2xx to the controller, then takes the BYE and
 * frees the early dialog (its notice queued); the controller, seeing the 2xx
 * first, sends the install that confirms the dialog, and the worker applies
 * it to the slot it has just freed: a confirmed call in a slot whose
 * generation has ended. The notice then gives the slot back to the pool, the
 * next call gets it, and its install is refused (another generation holds
 * the slot): that caller's call has no dialog (481s), the zombie call counts
 * nowhere (calls_active 0, max_calls place free), and when it ends its
 * notice returns the slot to the pool a second time. */
static void test_early_bye_crossing_2xx(void **state)
{
	struct sent bob_invite;
	struct ctl_stats st;
	(void)state;

	struct shard_dialog early = ringing_call("btag", &bob_invite); /* worker has it */
	unsigned n0 = ninstall;
	memcpy(&sent[0], &bob_invite, sizeof(bob_invite));
	nsent = 1;
	response_from_bob(0, 200, "btag"); /* the controller: install (confirmed) */
	assert_int_equal(ninstall, n0 + 1);
	/* the worker: the caller's BYE in the early dialog, before the install */
	shard_dialog_free(&table, early.slot);
	/* then the install in its ring */
	int rc = shard_dialog_install(&table, &installs[n0], 1000);
	/* the controller: the early dialog's end */
	ctl_on_dialog_ended(ctl, 0, early.slot, early.gen + 1, CTL_END_BYE_CALLER);
	ctl_get_stats(ctl, &st);

	/* the next call gets the same slot */
	numbered_invite(2);
	unsigned inv2 = last_invite_sent(&(uint16_t){0});
	unsigned n1 = ninstall;
	response_from_bob(inv2, 183, "b2");
	assert_int_equal(ninstall, n1 + 1);
	int rc2 = shard_dialog_install(&table, &installs[n1], 1000);
	if (rc == 0 || rc2 != 0)
		fail_msg("stale confirmed install into the freed slot %u: %s (state %d gen %u); "
			 "the next call, given slot %u gen %u: install %s; calls_active %llu",
			 early.slot, rc == 0 ? "accepted" : "refused",
			 table.dialogs[early.slot].state, table.dialogs[early.slot].gen,
			 installs[n1].slot, installs[n1].gen, rc2 == 0 ? "applied" : "REFUSED",
			 (unsigned long long)st.calls_active);
}

/* ---- the early dialog: requests in it, then the 2xx ------------------------ */

static struct relay_ctx early_rc; /* the worker's relay on `table` */
static char relay_out[SIP_MAX_DATAGRAM];
static struct sip_msg relay_m, relay_out_m;
static char relay_in[4096];

/* The n bytes in relay_in, a request in the early dialog, through the
 * worker's relay as it stands at 1100 ms; a request it sends on is parsed
 * into relay_out_m. */
static struct relay_result relay_early_request(int n)
{
	struct relay_result res;
	assert_int_equal(sip_parse(&relay_m, relay_in, (size_t)n, NULL), 0);
	early_rc.table = &table;
	early_rc.shard = 0;
	early_rc.advertise = "127.0.0.1:5060";
	early_rc.now_ms = 1100;
	relay_request(&early_rc, &relay_m, relay_out, sizeof(relay_out), &res);
	if (res.outcome == RELAY_SEND)
		assert_int_equal(sip_parse(&relay_out_m, relay_out, (size_t)res.len, NULL), 0);
	return res;
}

/* alice's request in the dialog whose leg A is `a` (our tag a->local_tag),
 * relayed by the worker; the result, the relayed request parsed into
 * relay_out_m when sent. */
static struct relay_result alice_in_dialog(const struct sip_session *a, const char *method,
					   unsigned cseq, const char *extra, const char *body)
{
	int n =
	    snprintf(relay_in, sizeof(relay_in),
		     "%s sip:sipshard@127.0.0.1:5060 SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKe%s%u\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		     "To: <sip:+15551234@127.0.0.1>;tag=%.*s\r\n"
		     "Call-ID: a1@10.1.1.1\r\n"
		     "CSeq: %u %s\r\n"
		     "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		     "%s%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     method, method, cseq, (int)a->local_tag_len, a->local_tag, cseq, method, extra,
		     body[0] ? "Content-Type: application/sdp\r\n" : "", strlen(body), body);
	return relay_early_request(n);
}

/*
 * RFC 3261 12.2.1.1: the CSeq of each request in a dialog is higher than the
 * last one's. The caller's PRACK (RFC 3262) and UPDATE (RFC 3311) in the
 * early dialog took CSeqs 2 and 3 of leg B's space (its INVITE had 1); the
 * install that confirmed the call (the callee's 2xx) brought the controller's
 * leg B, whose CSeq was still the INVITE's, over the worker's, so the
 * caller's BYE went to the callee with CSeq 2: lower than the UPDATE's, a
 * 500 (RFC 3261 12.2.2), and the callee kept a call the caller had left.
 */
static void test_early_requests_keep_leg_b_cseq_at_the_2xx(void **state)
{
	struct sent bob_invite;
	struct relay_result res;
	(void)state;

	struct shard_dialog early = ringing_call("btag", &bob_invite);
	const struct sip_session *a = &early.legs[SHARD_LEG_A];
	uint32_t invite_cseq = early.legs[SHARD_LEG_B].invite_cseq;

	res = alice_in_dialog(a, "PRACK", 2, "RAck: 1 1 INVITE\r\n", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_int_equal(relay_out_m.cseq.num, invite_cseq + 1);
	res = alice_in_dialog(a, "UPDATE", 3, "", "v=0\r\n");
	assert_int_equal(res.outcome, RELAY_SEND);
	uint32_t last_to_bob = relay_out_m.cseq.num;
	assert_int_equal(last_to_bob, invite_cseq + 2);

	/* bob answers the INVITE: the controller installs the confirmed call */
	unsigned n0 = ninstall;
	memcpy(&sent[0], &bob_invite, sizeof(bob_invite));
	nsent = 1;
	response_from_bob(0, 200, "btag");
	assert_int_equal(ninstall, n0 + 1);
	worker_applies(n0);

	res = alice_in_dialog(a, "BYE", 4, "", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	if (relay_out_m.cseq.num <= last_to_bob)
		fail_msg("BYE to bob with CSeq %u after the UPDATE's %u in the early dialog",
			 relay_out_m.cseq.num, last_to_bob);
}

/* ---- offer/answer (RFC 3264, 3261 13.2.1, 3262) in the session model ------- */

static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 10.9.9.9\r\ns=-\r\nc=IN IP4 10.9.9.9\r\n"
			  "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

/* alice's INVITE, with an offer or without */
static void invite_from_alice_sdp(bool offer)
{
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKinv1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 INVITE\r\n"
		   "Supported: 100rel\r\n"
		   "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		   "%s"
		   "Content-Length: %zu\r\n\r\n%s",
		   offer ? "Content-Type: application/sdp\r\n" : "", offer ? strlen(sdp) : 0,
		   offer ? sdp : "");
}

/* bob's response to sent[inv] with To tag btag, extra lines and an offer or answer or none */
static void bob_answers_sdp(unsigned inv, int status, const char *extra, bool body)
{
	char b[3000];
	snprintf(b, sizeof(b), "%s%s", extra, body ? "Content-Type: application/sdp\r\n" : "");
	response_from_bob_body(inv, status, "btag", b, body ? sdp : NULL, 1100);
}

static void assert_signaling(const struct shard_dialog *d, enum signaling_state a,
			     enum signaling_state b, const char *when)
{
	uint8_t sa = d->legs[SHARD_LEG_A].signaling_state,
		sb = d->legs[SHARD_LEG_B].signaling_state;
	if (sa != a || sb != b)
		fail_msg("%s: leg A %s, leg B %s; expected %s and %s", when,
			 signaling_state_name(sa), signaling_state_name(sb),
			 signaling_state_name(a), signaling_state_name(b));
}

/* Both legs of d keep the test's SDP (application/sdp) as their offer and
 * answer, or no body where false. */
static void assert_bodies(const struct shard_dialog *d, bool offer, bool answer, const char *when)
{
	for (int leg = 0; leg < 2; leg++) {
		const struct session_body *b[2] = {&d->legs[leg].offer, &d->legs[leg].answer};
		bool want[2] = {offer, answer};
		for (int i = 0; i < 2; i++) {
			bool kept = b[i]->len == strlen(sdp) &&
				    !memcmp(b[i]->data, sdp, b[i]->len) && b[i]->type_len == 15 &&
				    !memcmp(b[i]->type, "application/sdp", 15);
			if (want[i] ? !kept : b[i]->len != 0)
				fail_msg("%s: leg %c's %s has %u bytes", when, leg ? 'B' : 'A',
					 i ? "answer" : "offer", b[i]->len);
		}
	}
}

/*
 * The offer in the INVITE, the answer in a reliable 183 (RFC 3262: the
 * callee's early media), the 2xx without a body (RFC 3261 13.2.1: the answer
 * was given once). The early dialog and the confirmed one were installed
 * with the offer still open (have-remote-offer on the caller's side,
 * have-local-offer on the callee's), for the whole call.
 */
static void test_answer_in_reliable_18x_makes_the_session_stable(void **state)
{
	(void)state;
	invite_from_alice_sdp(true);
	unsigned inv = invite_to_bob();
	assert_int_equal(sent_msg(inv)->body.len, strlen(sdp));
	bob_answers_sdp(inv, 183, "Require: 100rel\r\nRSeq: 1\r\n", true);
	assert_int_equal(ninstall, 1);
	assert_signaling(&last_install, SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			 "answer in a reliable 183");
	bob_answers_sdp(inv, 200, "", false);
	assert_int_equal(last_install.state, SHARD_DLG_CONFIRMED);
	assert_signaling(&last_install, SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			 "2xx after the answer in a reliable 183");
}

/* An unreliable 183's body is no answer (RFC 6337 3.1.1): the 2xx's is. */
static void test_unreliable_18x_sdp_is_no_answer(void **state)
{
	(void)state;
	invite_from_alice_sdp(true);
	unsigned inv = invite_to_bob();
	bob_answers_sdp(inv, 183, "", true);
	assert_signaling(&last_install, SIGNALING_STATE_HAVE_REMOTE_OFFER,
			 SIGNALING_STATE_HAVE_LOCAL_OFFER, "unreliable 183 with SDP");
	bob_answers_sdp(inv, 200, "", true);
	assert_signaling(&last_install, SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			 "2xx with the answer");
	assert_bodies(&last_install, true, true, "2xx with the answer");
}

/*
 * An INVITE without an offer: the callee's 2xx carries the offer and the
 * caller's ACK the answer (RFC 3261 13.2.1). The call was installed Stable
 * at the 2xx, before any answer: the caller's side has a local offer (ours,
 * relayed) and the callee's a remote one until the ACK.
 */
static void test_offer_in_2xx_waits_for_the_ack(void **state)
{
	(void)state;
	invite_from_alice_sdp(false);
	unsigned inv = invite_to_bob();
	bob_answers_sdp(inv, 200, "", true);
	assert_int_equal(last_install.state, SHARD_DLG_CONFIRMED);
	assert_signaling(&last_install, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			 SIGNALING_STATE_HAVE_REMOTE_OFFER, "offer in the 2xx");
	assert_bodies(&last_install, true, false, "offer in the 2xx");
}

/* bob's final (with a body, or none when body is "") to the request the worker
 * relayed to him last (relay_out_m), through the worker's relay. */
static struct relay_result bob_answers_relayed(int status, const char *body)
{
	static char resp[2048];
	static struct sip_msg rm;
	struct relay_result res;
	const struct sip_msg *r = &relay_out_m;
	int n =
	    snprintf(resp, sizeof(resp),
		     "SIP/2.0 %d %s\r\n"
		     "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%.*s;rport\r\n"
		     "From: <sip:alice@127.0.0.1>;tag=%.*s\r\n"
		     "To: <sip:+15551234@127.0.0.1>;tag=btag\r\n"
		     "Call-ID: %.*s\r\n"
		     "CSeq: %u %.*s\r\n"
		     "%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     status, sip_reason_phrase(status), (int)r->vias[0].branch.len,
		     relay_out + r->vias[0].branch.off, (int)r->from.tag.len,
		     relay_out + r->from.tag.off, (int)r->call_id.len, relay_out + r->call_id.off,
		     (unsigned)r->cseq.num, (int)r->cseq.method.len, relay_out + r->cseq.method.off,
		     body[0] ? "Content-Type: application/sdp\r\n" : "", strlen(body), body);
	assert_int_equal(sip_parse(&rm, resp, (size_t)n, NULL), 0);
	relay_response(&early_rc, &rm, relay_out, sizeof(relay_out), &res);
	return res;
}

/* Both legs of the worker's record d keep offer and answer, and are stable. */
static void assert_kept(const struct shard_dialog *d, const char *offer, const char *answer,
			const char *when)
{
	assert_signaling(d, SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE, when);
	for (int leg = 0; leg < 2; leg++) {
		const struct session_body *o = &d->legs[leg].offer, *a = &d->legs[leg].answer;
		if (o->len != strlen(offer) || memcmp(o->data, offer, o->len) ||
		    a->len != strlen(answer) || memcmp(a->data, answer, a->len))
			fail_msg("%s: leg %c offer \"%.*s\", answer \"%.*s\"; expected \"%s\" and "
				 "\"%s\"",
				 when, leg ? 'B' : 'A', (int)o->len, o->data, (int)a->len, a->data,
				 offer, answer);
	}
}

/*
 * The reliable 183 answers the INVITE's offer; the caller offers again in
 * its PRACK (RFC 3262 5, RFC 6337 2.2) and the callee answers in the PRACK's
 * 2xx; the 2xx to the INVITE has no body (the answer was given). The worker
 * relays the PRACK in the early dialog and left the session model at the
 * 183's answer; the confirming install then brought the controller's copy
 * (the 183's exchange) over whatever the worker had. Now the worker tracks
 * the PRACK's exchange, and the install keeps it; the listing shows it.
 */
static void test_prack_offer_in_early_dialog_survives_the_2xx(void **state)
{
	static const char offer2[] = "v=0\r\no=alice 2 2 IN IP4 10.1.1.1\r\n";
	static const char answer2[] = "v=0\r\no=bob 2 2 IN IP4 10.9.9.9\r\n";
	struct relay_result res;
	(void)state;

	invite_from_alice_sdp(true);
	unsigned inv = invite_to_bob();
	struct sent bob_invite = sent[inv];
	bob_answers_sdp(inv, 183, "Require: 100rel\r\nRSeq: 1\r\n", true);
	assert_int_equal(ninstall, 1);
	worker_applies(0);
	struct shard_dialog early = installs[0];
	struct shard_dialog *d = shard_dialog_get(&table, early.slot, early.gen);
	assert_non_null(d);
	assert_kept(d, sdp, sdp, "reliable 183 with the answer");

	res = alice_in_dialog(&early.legs[SHARD_LEG_A], "PRACK", 2, "RAck: 1 1 INVITE\r\n", offer2);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_signaling(d, SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			 "offer in the PRACK");
	res = bob_answers_relayed(200, answer2);
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_kept(d, offer2, answer2, "answer in the PRACK's 2xx");

	/* bob answers the INVITE without a body; the worker confirms the call */
	unsigned n0 = ninstall;
	memcpy(&sent[0], &bob_invite, sizeof(bob_invite));
	nsent = 1;
	bob_answers_sdp(0, 200, "", false);
	assert_int_equal(ninstall, n0 + 1);
	worker_applies(n0);
	assert_int_equal(d->state, SHARD_DLG_CONFIRMED);
	assert_kept(d, offer2, answer2, "2xx without a body after the PRACK's exchange");

	json_t *o = dialogs_dialog_json(0, d, 2000);
	const json_t *callee = json_object_get(o, "callee");
	assert_string_equal(json_string_value(json_object_get(callee, "signaling_state")),
			    signaling_state_name(SIGNALING_STATE_STABLE));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(callee, "answer"), "body")), answer2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(callee, "offer"), "body")), offer2);
	json_decref(o);
}

/*
 * The early dialog installed at an unreliable 180; the answer came later in
 * a reliable 183 (RFC 3262). The controller took a later 18x to nothing, so
 * the worker's copy kept the offer open and took the callee's first UPDATE
 * offer in the early dialog (RFC 3311 5.1) for the INVITE's answer. The 183's
 * answer now reaches the worker as an update of the early dialog.
 */
static void test_answer_in_a_later_reliable_18x_reaches_the_worker(void **state)
{
	(void)state;
	invite_from_alice_sdp(true);
	unsigned inv = invite_to_bob();
	bob_answers_sdp(inv, 180, "", false);
	assert_int_equal(ninstall, 1);
	worker_applies(0);
	struct shard_dialog *d = shard_dialog_get(&table, installs[0].slot, installs[0].gen);
	assert_non_null(d);
	assert_signaling(d, SIGNALING_STATE_HAVE_REMOTE_OFFER, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			 "180 without a body");
	bob_answers_sdp(inv, 183, "Require: 100rel\r\nRSeq: 1\r\n", true);
	worker_applies(1);
	assert_signaling(d, SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			 "the worker's copy after the reliable 183 with the answer");
	assert_kept(d, sdp, sdp, "the worker's copy after the reliable 183 with the answer");
	assert_int_equal(d->state, SHARD_DLG_EARLY);
	/* its retransmission changes nothing: no install */
	unsigned n = ninstall;
	bob_answers_sdp(inv, 183, "Require: 100rel\r\nRSeq: 1\r\n", true);
	assert_int_equal(ninstall, n);
}

/* Forks f2, f3 and f4 of leg B's INVITE sent[inv] ring (unreliable 180s):
 * with the first fork's, the most early dialogs toward the caller a call
 * has (CTL_FORKS_MAX), each installed. */
static void three_more_forks_ring(unsigned inv)
{
	static const char *const tags[] = {"f2", "f3", "f4"};
	for (unsigned i = 0; i < 3; i++) {
		unsigned n = ninstall;
		response_from_bob_at(inv, 180, tags[i], 1150);
		assert_int_equal(ninstall, n + 1);
	}
}

/*
 * Forking with reliable provisionals (RFC 3262), beyond the early dialogs a
 * call gives the caller (CTL_FORKS_MAX, one per fork): a fifth fork rings
 * with a reliable 18x and RSeq 1 (each UAS numbers its own). Relayed in the
 * first fork's early dialog, it would reach the caller there with the same
 * CSeq and RSeq, a retransmission, which it PRACKs not (RFC 3262 4): that
 * fork, never PRACKed, would resend its 18x for 64*T1 and give its INVITE
 * up (5xx), and a callee picked up on that phone would never be reached. Its
 * reliable provisional is sipshard's to PRACK, in that fork's early dialog;
 * the refusal is counted.
 */
static void test_second_fork_reliable_18x_is_pracked_here(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob_with(inv, 183, "fork1", "Require: 100rel\r\nRSeq: 1\r\n", 1100);
	assert_int_equal(ninstall, 1);
	assert_int_equal(sent_msg(nsent - 1)->status, 183);
	assert_int_equal(out.rseq, 1);
	three_more_forks_ring(inv);

	unsigned before = nsent;
	unsigned installs_before = ninstall;
	response_from_bob_with(inv, 180, "fork2", "Require: 100rel\r\nRSeq: 1\r\n", 1200);
	assert_int_equal(ninstall, installs_before);
	bool pracked = false, relayed_reliably = false;
	for (unsigned i = before; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (s->is_request && s->method_id == SIP_METHOD_PRACK &&
		    ntohs(sent[i].to.sin_port) == 5090 &&
		    sip_view_eq(sent[i].buf, s->to.tag, "fork2", 5) && s->has_rack &&
		    s->rack.rseq == 1 && s->rack.cseq == sent_msg(inv)->cseq.num)
			pracked = true;
		else if (!s->is_request && ntohs(sent[i].to.sin_port) == 5061 && s->rseq)
			relayed_reliably = true;
	}
	if (!pracked || relayed_reliably)
		fail_msg("second fork's reliable 180: %s PRACKed, %s relayed to the caller's one "
			 "early dialog with RSeq 1 again",
			 pracked ? "" : "not", relayed_reliably ? "" : "not");
	/* its 200 to our PRACK ends that transaction; nothing goes to the caller */
	unsigned prack = nsent - 1;
	assert_int_equal(sent_msg(prack)->method_id, SIP_METHOD_PRACK);
	uint32_t first_cseq = out.cseq.num;
	unsigned n = nsent;
	response_from_bob_with(prack, 200, "fork2", "", 1300);
	assert_int_equal(nsent, n);

	/* its next reliable provisional gets a PRACK of its own, with a higher
	 * CSeq (RFC 3261 12.2.1.1: one CSeq twice is out of order there) */
	response_from_bob_with(inv, 183, "fork2", "Require: 100rel\r\nRSeq: 2\r\n", 1400);
	assert_int_equal(nsent, n + 1);
	const struct sip_msg *second = sent_msg(n);
	assert_int_equal(second->method_id, SIP_METHOD_PRACK);
	assert_int_equal(second->rack.rseq, 2);
	if (second->cseq.num <= first_cseq)
		fail_msg("second PRACK to the fork with CSeq %u after %u", second->cseq.num,
			 first_cseq);
	/* a retransmission of it while that PRACK is resent: no second one */
	response_from_bob_with(inv, 183, "fork2", "Require: 100rel\r\nRSeq: 2\r\n", 1450);
	assert_int_equal(nsent, n + 1);
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.dropped_unknown_response, 0);
	assert_int_equal(st.fork_dialogs, 3);
	assert_true(st.forks_refused >= 1);
}

/*
 * A second fork's reliable 18x (RSeq 1) finds the worker's ring full: refused
 * an early dialog of its own, it is PRACKed here. The fork resends that 18x
 * until our PRACK reaches it (RFC 3262 3); a copy that came once the ring had
 * room took an early dialog and reached the caller with RSeq 1, the caller
 * PRACKed it, and the fork, whose RSeq 1 was PRACKed already, answered that
 * PRACK 481 (RFC 3262 3), which crossed to the caller (12.2.1.2: it ends
 * that early dialog). As leg B's UAC, sipshard takes it as the
 * retransmission it is (RFC 3262 4: not PRACKed again, not processed
 * further): not relayed, no early dialog. The fork's next reliable 18x
 * (RSeq 2), once our PRACK is answered, is a new one: the caller gets it in
 * an early dialog of that fork's, and its PRACK (of RSeq 2) is the one the
 * fork waits for.
 */
static void test_refused_fork_pracked_here_retransmits_once_the_ring_has_room(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob_with(inv, 183, "fork1", "Require: 100rel\r\nRSeq: 1\r\n", 1100);
	assert_int_equal(ninstall, 1);

	install_fails = true; /* the worker's ring is full */
	unsigned before = nsent;
	response_from_bob_with(inv, 183, "fork2", "Require: 100rel\r\nRSeq: 1\r\n", 1200);
	assert_int_equal(ninstall, 1);
	assert_int_equal(nsent, before + 1);
	unsigned prack = nsent - 1;
	assert_int_equal(sent_msg(prack)->method_id, SIP_METHOD_PRACK);
	assert_int_equal(out.rack.rseq, 1);

	install_fails = false; /* room again; our PRACK not answered yet */
	response_from_bob_with(inv, 183, "fork2", "Require: 100rel\r\nRSeq: 1\r\n", 1700);
	for (unsigned i = before; i < nsent; i++) {
		if (ntohs(sent[i].to.sin_port) != 5061)
			continue;
		const struct sip_msg *r = sent_msg(i);
		fail_msg("the fork's 183 with RSeq 1, PRACKed here, sent again: relayed to the "
			 "caller (status %d, RSeq %u)",
			 r->status, r->rseq);
	}
	assert_int_equal(ninstall, 1);
	assert_int_equal(nsent, before + 1); /* nor PRACKed again while ours is resent */

	/* our PRACK answered; a copy of the 183 that UDP held back comes after
	 * its 200: still that 183 (the PRACK's transaction is Completed until
	 * Timer K, detached.h), absorbed. It was relayed to the caller in an
	 * early dialog of its own before: the caller's PRACK of it got 481 */
	response_from_bob_with(prack, 200, "fork2", "", 1800);
	assert_int_equal(nsent, before + 1);
	response_from_bob_with(inv, 183, "fork2", "Require: 100rel\r\nRSeq: 1\r\n", 1850);
	if (nsent != before + 1)
		fail_msg("a copy of the 183 PRACKed here, after the PRACK's 200: %.40s",
			 sent[nsent - 1].buf);
	assert_int_equal(ninstall, 1);
	/* the fork's next reliable 18x is a new one */
	response_from_bob_with(inv, 180, "fork2", "Require: 100rel\r\nRSeq: 2\r\n", 1900);
	assert_int_equal(ninstall, 2);
	assert_int_equal(last_install.state, SHARD_DLG_EARLY);
	assert_memory_equal(last_install.legs[SHARD_LEG_B].remote_tag, "fork2", 5);
	const struct sip_msg *ring = sent_msg(nsent - 1);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);
	assert_int_equal(ring->status, 180);
	assert_int_equal(ring->rseq, 2);
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.fork_provisionals_pracked, 1);
	assert_int_equal(st.forks_refused, 1);
	assert_int_equal(st.fork_dialogs, 1);
}

static const char rseq1[] = "Require: 100rel\r\nRSeq: 1\r\n";

/* fork2's reliable 183 (RSeq 1) to the INVITE sent[inv] finds the worker's
 * ring full: refused an early dialog of its own, PRACKed here. Returns
 * where that PRACK is in sent[]; the ring has room again. */
static unsigned fork2_refused_and_pracked(unsigned inv)
{
	install_fails = true;
	unsigned before = nsent;
	response_from_bob_with(inv, 183, "fork2", rseq1, 1200);
	install_fails = false;
	assert_int_equal(ninstall, 1);
	assert_int_equal(nsent, before + 1);
	assert_int_equal(sent_msg(before)->method_id, SIP_METHOD_PRACK);
	return before;
}

/* The same after the call rings on fork1 (its reliable 183 installs the
 * early dialog). */
static unsigned fork_refused_and_pracked(unsigned inv)
{
	response_from_bob_with(inv, 183, "fork1", rseq1, 1100);
	assert_int_equal(ninstall, 1);
	return fork2_refused_and_pracked(inv);
}

/* A copy of fork2's 183 with RSeq 1 (PRACKed here before) comes at now, to
 * the INVITE sent[inv], with room in the worker's ring and no PRACK of it
 * in progress: PRACKed again, as the fork resends it until a PRACK reaches
 * it (RFC 3262 3); neither an early dialog of its own (the caller's PRACK of
 * an RSeq the fork had had its PRACK for got 481 there) nor relayed. */
static void copy_of_pracked_183_pracked_again(unsigned inv, uint64_t now, const char *when)
{
	unsigned before = nsent, installs_before = ninstall;
	response_from_bob_with(inv, 183, "fork2", rseq1, now);
	if (ninstall != installs_before)
		fail_msg("%s: a copy of the fork's 183 PRACKed here took an early dialog of its "
			 "own (slot %u state %d tag %.*s)",
			 when, last_install.slot, last_install.state,
			 (int)last_install.legs[SHARD_LEG_B].remote_tag_len,
			 last_install.legs[SHARD_LEG_B].remote_tag);
	bool pracked = false;
	for (unsigned i = before; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (ntohs(sent[i].to.sin_port) == 5061)
			fail_msg("%s: a copy of the fork's 183 PRACKed here reached the caller "
				 "(status %d, RSeq %u)",
				 when, s->status, s->rseq);
		if (s->is_request && s->method_id == SIP_METHOD_PRACK &&
		    ntohs(sent[i].to.sin_port) == 5090 &&
		    sip_view_eq(sent[i].buf, s->to.tag, "fork2", 5) && s->has_rack &&
		    s->rack.rseq == 1)
			pracked = true;
	}
	if (!pracked || nsent != before + 1)
		fail_msg("%s: a copy of the fork's 183 PRACKed here: %u datagrams, %s a PRACK",
			 when, nsent - before, pracked ? "one" : "none");
}

/*
 * As above, the copy of the refused fork's 183 coming once our PRACK's
 * transaction is over (its 200, then Timer K: detached.h), the ring with
 * room: it took an early dialog and reached the caller with RSeq 1 (the
 * caller's PRACK got the fork's 481). The record, not that transaction,
 * knows the fork: PRACKed again. Then the fork's next reliable 18x (RSeq 2)
 * gets an early dialog of its own, and a copy of RSeq 1 held back by the
 * network is not relayed there either.
 */
static void test_refused_fork_copy_after_timer_k_is_pracked_again(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	unsigned prack = fork_refused_and_pracked(inv);
	response_from_bob_with(prack, 200, "fork2", "", 1300);
	ctl_on_tick(ctl, 1300 + 5000 + 10); /* Timer K */
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_requests_answered, 1);

	copy_of_pracked_183_pracked_again(inv, 6400, "after Timer K");
	/* that PRACK in progress: the next copy absorbed */
	unsigned n = nsent;
	response_from_bob_with(inv, 183, "fork2", rseq1, 6450);
	assert_int_equal(nsent, n);
	assert_int_equal(ninstall, 1);

	/* a new 18x of that fork: an early dialog of its own */
	response_from_bob_with(inv, 180, "fork2", "Require: 100rel\r\nRSeq: 2\r\n", 6500);
	assert_int_equal(ninstall, 2);
	assert_memory_equal(last_install.legs[SHARD_LEG_B].remote_tag, "fork2", 5);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);
	assert_int_equal(sent_msg(nsent - 1)->rseq, 2);
	n = nsent;
	response_from_bob_with(inv, 183, "fork2", rseq1, 6600);
	for (unsigned i = n; i < nsent; i++)
		if (ntohs(sent[i].to.sin_port) == 5061)
			fail_msg("a late copy of RSeq 1, PRACKed here, relayed to the caller in "
				 "the fork's early dialog");
	assert_int_equal(ninstall, 2);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.fork_provisionals_pracked, 2);
	assert_int_equal(st.forks_refused, 1);
	assert_int_equal(st.fork_dialogs, 1);
}

/* The same across a restart, our PRACK not answered before it: the PRACK's
 * transaction did not survive it (detached.h), the record does. */
static void test_refused_fork_copy_after_a_restart_is_pracked_again(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	struct sent bob_invite = sent[inv];
	fork_refused_and_pracked(inv);
	worker_applies(0); /* fork1's early dialog */
	assert_int_equal(restart(), 1);
	sent[0] = bob_invite;
	nsent = 1;
	copy_of_pracked_183_pracked_again(0, 1300, "after a restart");
}

/*
 * The same with the kill catching the first fork's install in the worker's
 * ring: after the restart the call's early dialog waits to be pushed again
 * (retry_early_install, on the next tick), and a copy of the refused fork's
 * 183 comes before that tick. Taken as the first fork's provisional (the
 * refused fork's branch asked for an install the worker held), it was
 * installed as the call's own early dialog, under that fork's To tag, and
 * relayed to the caller with RSeq 1: the caller's PRACK of it got the
 * fork's 481, and the tick then pushed that fork's dialog as the call's.
 * A copy is PRACKed again, whatever the worker holds; the tick pushes the
 * first fork's early dialog.
 */
static void test_refused_fork_copy_before_the_first_forks_install_is_pushed_again(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	struct sent bob_invite = sent[inv];
	fork_refused_and_pracked(inv);
	const struct shard_dialog fork1 = installs[0]; /* never applied by the worker */
	assert_int_equal(restart(), 1);
	assert_int_equal(table.dialogs[fork1.slot].state, SHARD_DLG_FREE);
	sent[0] = bob_invite;
	nsent = 1;
	copy_of_pracked_183_pracked_again(0, 1250, "before the first fork's install is pushed");

	ctl_on_tick(ctl, 1300);
	assert_int_equal(ninstall, 1);
	assert_int_equal(installs[0].slot, fork1.slot);
	assert_int_equal(installs[0].state, SHARD_DLG_EARLY);
	assert_int_equal(installs[0].legs[SHARD_LEG_B].remote_tag_len, 5);
	assert_memory_equal(installs[0].legs[SHARD_LEG_B].remote_tag, "fork1", 5);
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.early_installs_retried, 1);
	assert_int_equal(st.fork_provisionals_pracked, 1);
}

/* The same with the table of the controller's own transactions full
 * (DETACHED_MAX PRACKs of other refused forks, none answered): our PRACK
 * was sent once, untracked, and the copy found no transaction of it. The
 * record remembers the 8 forks PRACKed last (CTL_PRACKED_MAX): the others
 * are counted forgotten. */
static void test_refused_fork_copy_of_an_untracked_prack_is_pracked_again(void **state)
{
	struct ctl_stats st;
	char tag[16];
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	struct sent bob_invite = sent[inv];
	response_from_bob_with(inv, 183, "fork1", rseq1, 1100);
	assert_int_equal(ninstall, 1);
	install_fails = true;
	for (unsigned i = 0; i < DETACHED_MAX; i++) {
		sent[0] = bob_invite;
		nsent = 1;
		snprintf(tag, sizeof(tag), "x%u", i);
		response_from_bob_with(0, 180, tag, rseq1, 1150);
		assert_int_equal(nsent, 2);
	}
	sent[0] = bob_invite;
	nsent = 1;
	fork2_refused_and_pracked(0);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_requests_untracked, 1);
	copy_of_pracked_183_pracked_again(0, 1400, "its PRACK sent untracked");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_requests_untracked, 2);
	assert_int_equal(st.pracked_forks_forgotten, DETACHED_MAX + 1 - 8);
}

/*
 * RFC 3261 12.2.2: a UAS answers 500 to a request in a dialog whose CSeq is
 * lower than the last it got there. The PRACK sipshard sends a second fork's
 * reliable provisional (RFC 3262) takes CSeq INVITE + 1 + RSeq in that fork's
 * early dialog, and RSeq starts anywhere up to 2^31 - 1; when that fork then
 * answered, the dialog the worker got kept leg B's CSeq at the INVITE's, so
 * the caller's BYE reached the callee with CSeq 2, below the PRACK's: a 500,
 * and the callee stayed in a call the caller had left.
 */
static void test_fork_answering_after_our_prack_gets_a_higher_cseq(void **state)
{
	struct sent bob_invite;
	struct relay_result res;
	(void)state;

	struct shard_dialog early = ringing_call("fork1", &bob_invite);
	const struct sip_session *a = &early.legs[SHARD_LEG_A];
	memcpy(&sent[0], &bob_invite, sizeof(bob_invite));
	nsent = 1;
	/* a fork beyond the call's early dialogs: PRACKed here */
	three_more_forks_ring(0);
	unsigned before = nsent;
	response_from_bob_with(0, 180, "fork2", "Require: 100rel\r\nRSeq: 5000\r\n", 1200);
	assert_int_equal(nsent, before + 1);
	const struct sip_msg *prack = sent_msg(before);
	assert_int_equal(prack->method_id, SIP_METHOD_PRACK);
	uint32_t prack_cseq = prack->cseq.num;

	unsigned n0 = ninstall;
	response_from_bob(0, 200, "fork2");
	assert_int_equal(ninstall, n0 + 1);
	worker_applies(n0);

	res = alice_in_dialog(a, "BYE", 2, "", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	if (relay_out_m.cseq.num <= prack_cseq)
		fail_msg("BYE to the fork that answered with CSeq %u after our PRACK's %u there",
			 relay_out_m.cseq.num, prack_cseq);
}

/* The To tag of sent datagram i, as a string. */
static void sent_to_tag(unsigned i, char *tag, size_t cap)
{
	const struct sip_msg *s = sent_msg(i);
	snprintf(tag, cap, "%.*s", (int)s->to.tag.len, sent[i].buf + s->to.tag.off);
}

/*
 * Forking (RFC 3261 12.1, 13.2.2.4; RFC 3262): two forks of leg B's INVITE
 * ring with reliable 183s, each with an answer of its own. A B2BUA that
 * forwards forking gives the caller an early dialog per fork, under a To
 * tag of its own, with that fork's SDP, where the caller PRACKs each 183
 * and the PRACK reaches that fork. sipshard held one early dialog toward
 * the caller, the first fork's: the second fork's 183 was PRACKed by
 * sipshard itself and not relayed, so its SDP never reached the caller, and
 * when that fork answered (with or without a body) the call went on with
 * the first fork's tag and, without a body, the first fork's answer.
 */
static void fork_answers(bool body_in_2xx)
{
	static const char answer1[] = "v=0\r\no=fork1 1 1 IN IP4 10.9.9.1\r\n";
	static const char answer2[] = "v=0\r\no=fork2 1 1 IN IP4 10.9.9.2\r\n";
	static const char reliable[] =
	    "Require: 100rel\r\nRSeq: 1\r\nContent-Type: application/sdp\r\n";
	char tag1[64], tag2[64], tag_2xx[64];
	struct relay_result res;

	invite_from_alice_sdp(true);
	unsigned inv = invite_to_bob();
	response_from_bob_body(inv, 183, "fork1", reliable, answer1, 1100);
	assert_int_equal(ninstall, 1);
	worker_applies(0);
	sent_to_tag(nsent - 1, tag1, sizeof(tag1));

	unsigned before = nsent;
	response_from_bob_body(inv, 183, "fork2", reliable, answer2, 1200);
	/* relayed to the caller, reliably, with its SDP, under a tag of its own */
	bool relayed = false;
	for (unsigned i = before; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (s->is_request)
			fail_msg("second fork's reliable 183: %.*s sent (PRACKed here?)",
				 (int)s->method.len, sent[i].buf + s->method.off);
		if (ntohs(sent[i].to.sin_port) == 5061 && s->status == 183 && s->rseq == 1 &&
		    s->body.len == strlen(answer2) &&
		    !memcmp(sent[i].buf + s->body.off, answer2, s->body.len)) {
			relayed = true;
			sent_to_tag(i, tag2, sizeof(tag2));
		}
	}
	if (!relayed)
		fail_msg("second fork's reliable 183 with its SDP not relayed to the caller");
	if (!strcmp(tag1, tag2))
		fail_msg("both forks' 183s reached the caller in one early dialog (tag %s)", tag1);
	/* the worker holds that early dialog, in a slot of its own */
	assert_int_equal(ninstall, 2);
	assert_int_not_equal(installs[1].slot, installs[0].slot);
	assert_int_equal(installs[1].state, SHARD_DLG_EARLY);
	const struct sip_session *a1 = &installs[0].legs[SHARD_LEG_A];
	const struct sip_session *a2 = &installs[1].legs[SHARD_LEG_A];
	assert_int_equal(a2->local_tag_len, strlen(tag2));
	assert_memory_equal(a2->local_tag, tag2, a2->local_tag_len);
	worker_applies(1);

	/* the caller's PRACK of each 183 reaches that fork */
	res = alice_in_dialog(a2, "PRACK", 2, "RAck: 1 1 INVITE\r\n", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	if (!sip_view_eq(relay_out_m.buf, relay_out_m.to.tag, "fork2", 5))
		fail_msg("the PRACK of the second fork's 183 went to %.*s",
			 (int)relay_out_m.to.tag.len, relay_out_m.buf + relay_out_m.to.tag.off);
	uint32_t prack2_cseq = relay_out_m.cseq.num;
	res = alice_in_dialog(a1, "PRACK", 3, "RAck: 1 1 INVITE\r\n", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	if (!sip_view_eq(relay_out_m.buf, relay_out_m.to.tag, "fork1", 5))
		fail_msg("the PRACK of the first fork's 183 went to %.*s",
			 (int)relay_out_m.to.tag.len, relay_out_m.buf + relay_out_m.to.tag.off);

	/* the second fork answers: the call's dialog is that fork's early one */
	unsigned n0 = ninstall, r0 = nrelease;
	before = nsent;
	response_from_bob_body(inv, 200, "fork2",
			       body_in_2xx ? "Content-Type: application/sdp\r\n" : "",
			       body_in_2xx ? answer2 : NULL, 1300);
	assert_int_equal(ninstall, n0 + 1);
	assert_int_equal(last_install.state, SHARD_DLG_CONFIRMED);
	assert_int_equal(last_install.slot, installs[0].slot);
	assert_int_equal(nrelease, r0 + 1); /* the second fork's early dialog */
	bool answered = false;
	for (unsigned i = before; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (!s->is_request && s->status == 200 && ntohs(sent[i].to.sin_port) == 5061) {
			answered = true;
			sent_to_tag(i, tag_2xx, sizeof(tag_2xx));
		}
	}
	assert_true(answered);
	if (strcmp(tag_2xx, tag2))
		fail_msg("the second fork's 2xx reached the caller with tag %s, not its 183s' %s",
			 tag_2xx, tag2);
	worker_applies(n0);
	struct shard_dialog *d = shard_dialog_get(&table, installs[0].slot, installs[0].gen);
	assert_non_null(d);
	assert_int_equal(d->state, SHARD_DLG_CONFIRMED);
	assert_kept(d, sdp, answer2, "the call the second fork answered");
	const struct sip_session *lb = &d->legs[SHARD_LEG_B];
	assert_int_equal(lb->remote_tag_len, 5);
	assert_memory_equal(lb->remote_tag, "fork2", 5);

	/* the caller's BYE under that tag reaches the second fork, above its PRACK */
	res = alice_in_dialog(a2, "BYE", 4, "", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(sip_view_eq(relay_out_m.buf, relay_out_m.to.tag, "fork2", 5));
	if (relay_out_m.cseq.num <= prack2_cseq)
		fail_msg("BYE to the second fork with CSeq %u after the PRACK's %u",
			 relay_out_m.cseq.num, prack2_cseq);
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.fork_dialogs, 1);
	assert_int_equal(st.forks_refused, 0);
	assert_int_equal(st.fork_provisionals_pracked, 0);
}

static void test_second_fork_answers_with_a_body_in_its_own_dialog(void **state)
{
	(void)state;
	fork_answers(true);
}

static void test_second_fork_answers_without_a_body_in_its_own_dialog(void **state)
{
	(void)state;
	fork_answers(false);
}

/* bob's request from fork from_tag in the early dialog whose leg B is b (our
 * From tag toward bob, b->local_tag, as its To tag), relayed by the worker:
 * the result, the relayed request parsed into relay_out_m when sent. */
static struct relay_result bob_in_dialog(const struct sip_session *b, const char *from_tag,
					 const char *method, unsigned cseq, const char *body)
{
	int n = snprintf(relay_in, sizeof(relay_in),
			 "%s sip:sipshard@127.0.0.1:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 10.2.2.2:5062;branch=z9hG4bKb%s%s%u\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:+15551234@10.2.2.2>;tag=%s\r\n"
			 "To: <sip:alice@127.0.0.1>;tag=%.*s\r\n"
			 "Call-ID: %.*s\r\n"
			 "CSeq: %u %s\r\n"
			 "Contact: <sip:bob@10.2.2.2:5062>\r\n"
			 "%s"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, from_tag, method, cseq, from_tag, (int)b->local_tag_len,
			 b->local_tag, (int)b->call_id_len, b->call_id, cseq, method,
			 body[0] ? "Content-Type: application/sdp\r\n" : "", strlen(body), body);
	return relay_early_request(n);
}

/*
 * The callee's own requests in a fork's early dialog (RFC 3311: an UPDATE
 * may be sent by the UAS in an early dialog; RFC 3261 12.2.2, an INFO too)
 * reach the caller in that fork's early dialog, under that fork's tag of
 * ours. Their To tag is leg B's From tag, one for every fork, naming the
 * call's slot (the first fork's early dialog): a second fork's UPDATE and
 * INFO got 481 there.
 */
static void test_second_fork_callee_requests_reach_the_caller_in_its_dialog(void **state)
{
	static const char answer1[] = "v=0\r\no=fork1 1 1 IN IP4 10.9.9.1\r\n";
	static const char answer2[] = "v=0\r\no=fork2 1 1 IN IP4 10.9.9.2\r\n";
	static const char offer2[] = "v=0\r\no=fork2 1 2 IN IP4 10.9.9.2\r\n";
	static const char reliable[] =
	    "Require: 100rel\r\nRSeq: 1\r\nContent-Type: application/sdp\r\n";
	char tag1[64], tag2[64];
	struct relay_result res;
	(void)state;

	invite_from_alice_sdp(true);
	unsigned inv = invite_to_bob();
	response_from_bob_body(inv, 183, "fork1", reliable, answer1, 1100);
	assert_int_equal(ninstall, 1);
	worker_applies(0);
	sent_to_tag(nsent - 1, tag1, sizeof(tag1));
	response_from_bob_body(inv, 183, "fork2", reliable, answer2, 1200);
	assert_int_equal(ninstall, 2);
	worker_applies(1);
	sent_to_tag(nsent - 1, tag2, sizeof(tag2));
	assert_string_not_equal(tag1, tag2);
	const struct sip_session *b2 = &installs[1].legs[SHARD_LEG_B];

	/* fork 2's UPDATE with a new offer, then its INFO: to the caller under
	 * fork 2's tag */
	static const char *const methods[] = {"UPDATE", "INFO"};
	for (unsigned i = 0; i < 2; i++) {
		res = bob_in_dialog(b2, "fork2", methods[i], 10 + i, i ? "" : offer2);
		if (res.outcome != RELAY_SEND)
			fail_msg(
			    "fork 2's %s in its early dialog: outcome %d status %d (not relayed)",
			    methods[i], res.outcome, res.status);
		const struct sip_msg *o = &relay_out_m;
		assert_true(o->is_request);
		if (!sip_view_eq(relay_out, o->from.tag, tag2, strlen(tag2)))
			fail_msg("fork 2's %s reached the caller with From tag %.*s, not %s",
				 methods[i], (int)o->from.tag.len, relay_out + o->from.tag.off,
				 tag2);
		assert_true(sip_view_eq(relay_out, o->to.tag, "atag", 4));
		assert_true(sip_view_eq(relay_out, o->call_id, "a1@10.1.1.1", 11));
	}
	/* the first fork's own goes on under the call's tag */
	res = bob_in_dialog(&installs[0].legs[SHARD_LEG_B], "fork1", "INFO", 20, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(sip_view_eq(relay_out, relay_out_m.from.tag, tag1, strlen(tag1)));
	/* a tag no fork has: 481 as before */
	res = bob_in_dialog(b2, "fork9", "INFO", 21, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
}

/* The caller's INVITE and two forks of leg B's ringing with reliable 183s,
 * each in an early dialog of its own that the worker holds (installs[0]
 * the call's, the first fork's; installs[1] the second's, whose 183 is the
 * last datagram sent). Returns leg B's INVITE's index in sent[]. */
static unsigned two_forks_ring(void)
{
	static const char reliable[] = "Require: 100rel\r\nRSeq: 1\r\n";

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob_with(inv, 183, "fork1", reliable, 1100);
	worker_applies(0);
	response_from_bob_with(inv, 183, "fork2", reliable, 1200);
	assert_int_equal(ninstall, 2);
	worker_applies(1);
	return inv;
}

/* A fork's early dialog ended (the caller's BYE in it: the worker's notice)
 * and another fork rings: it takes the slot the first freed (the pool hands
 * the slot freed last out first) and must not take its tag too, or the
 * caller's BYE sent again in the ended early dialog (its 200 lost) would
 * reach the new fork and end it. Random bits gave it that tag once in 256. */
static void test_fork_in_a_freed_slot_gets_a_tag_of_its_own(void **state)
{
	static const char reliable[] = "Require: 100rel\r\nRSeq: 1\r\n";
	char tag2[64], tag3[64];
	(void)state;

	unsigned inv = two_forks_ring();
	sent_to_tag(nsent - 1, tag2, sizeof(tag2));
	const struct shard_dialog fork2 = installs[1];
	ctl_on_dialog_ended(ctl, 0, fork2.slot, fork2.gen + 1, CTL_END_BYE_CALLER);
	response_from_bob_with(inv, 183, "fork3", reliable, 1300);
	assert_int_equal(ninstall, 3);
	assert_int_equal(installs[2].slot, fork2.slot);
	assert_int_equal(ntohs(sent[nsent - 1].to.sin_port), 5061);
	sent_to_tag(nsent - 1, tag3, sizeof(tag3));
	assert_string_not_equal(tag3, tag2);
	assert_memory_equal(installs[2].legs[SHARD_LEG_A].local_tag, tag3, strlen(tag3));
}

/* As above across a restart, which draws another key for the bits above
 * the fork's slot in its tag (controller_forks.c fork_tag_bits): the ended fork
 * is carried over, and a new fork after the restart takes its slot (the
 * lowest free one). With the key such that the new fork's bits are the
 * ended one's (chosen here by the hash fork_tag_bits makes: the call's own
 * tag under key_hash, plus the fork's place), it had the ended fork's tag.
 * No fork may take the tag of one the call holds, whatever the key. */
static void test_fork_after_a_restart_gets_a_tag_of_its_own(void **state)
{
	static const char reliable[] = "Require: 100rel\r\nRSeq: 1\r\n";
	char tag2[64], tag3[64], t[SHARD_TAG_MAX];
	(void)state;

	unsigned inv = two_forks_ring();
	sent_to_tag(nsent - 1, tag2, sizeof(tag2));
	const struct shard_dialog call = installs[0], fork2 = installs[1];
	struct sent bob_invite = sent[inv];
	ctl_on_dialog_ended(ctl, 0, fork2.slot, fork2.gen + 1, CTL_END_BYE_CALLER);
	shard_dialog_free(&table, fork2.slot);

	/* the ended fork's 8 bits, and a key that gives the next fork (its
	 * place 1: the ended one is carried over) the same */
	unsigned bits = 256;
	for (unsigned h = 0; h < 256 && bits == 256; h++) {
		shard_fork_tag_encode(t, sizeof(t), 0, call.slot, call.gen, fork2.slot, h << 24);
		if (!strcmp(t, tag2))
			bits = h;
	}
	assert_int_not_equal(bits, 256);
	const char *a_tag = call.legs[SHARD_LEG_A].local_tag;
	for (fixed_seed = 1;; fixed_seed++) {
		uint32_t base =
		    (uint32_t)keyhash_bytes(keyhash_bytes(fixed_seed, a_tag, strlen(a_tag)), "", 0);
		if (((base + 1) & 0xff) == bits)
			break;
	}
	assert_int_equal(restart(), 1);
	fixed_seed = 0;

	sent[0] = bob_invite;
	nsent = 1;
	response_from_bob_with(0, 183, "fork3", reliable, 1300);
	assert_int_equal(ninstall, 1);
	assert_int_equal(installs[0].slot, fork2.slot);
	sent_to_tag(nsent - 1, tag3, sizeof(tag3));
	if (!strcmp(tag3, tag2))
		fail_msg("a fork after the restart has the tag of the ended fork in its slot");
	assert_memory_equal(installs[0].legs[SHARD_LEG_A].local_tag, tag3, strlen(tag3));
}

/* The caller's BYE in the early dialog d, relayed to its fork. */
static void caller_byes_early(const struct shard_dialog *d)
{
	struct relay_result res = alice_in_dialog(&d->legs[SHARD_LEG_A], "BYE", 2, "", "");
	assert_int_equal(res.outcome, RELAY_SEND);
}

/* Of what the controller sent from base on: an ACK and a BYE to the 2xx of
 * the fork with To tag tag, and to the caller (port 5061) nothing but its
 * INVITE's final, 487: the 2xx is leg B's final, and a forking proxy cancels
 * its other branches after it (RFC 3261 16.7), so the call rings on for
 * nothing. */
static void assert_2xx_acked_and_ended(unsigned base, const char *tag)
{
	bool ack = false, bye = false, told = false;
	size_t n = strlen(tag);
	for (unsigned i = base; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (ntohs(sent[i].to.sin_port) == 5061 && !s->is_request && s->status == 487 &&
		    !told) {
			told = true;
			continue;
		}
		if (ntohs(sent[i].to.sin_port) == 5061)
			fail_msg("the 2xx of fork %s, whose early dialog ended, sent the "
				 "caller more than its 487: %.60s",
				 tag, sent[i].buf);
		if (s->is_request && s->method_id == SIP_METHOD_ACK &&
		    sip_view_eq(sent[i].buf, s->to.tag, tag, n))
			ack = true;
		if (s->is_request && s->method_id == SIP_METHOD_BYE &&
		    sip_view_eq(sent[i].buf, s->to.tag, tag, n))
			bye = true;
	}
	if (!ack || !bye || !told)
		fail_msg("2xx of fork %s: ACK %s, BYE %s, 487 to the caller %s", tag,
			 ack ? "sent" : "not sent", bye ? "sent" : "not sent",
			 told ? "sent" : "not sent");
}

/*
 * A fork's 2xx once its early dialog ended (the caller's BYE in it, RFC
 * 3261 15, or its expiry: the worker freed it): the caller holds no dialog
 * under that fork's tag any more, so the 2xx is not relayed; as the UAC side
 * of leg B sipshard ACKs it and ends it with a BYE (RFC 3261 13.2.2.4). That
 * 2xx is leg B's final: a forking proxy forwards no other final after it but
 * another 2xx, and cancels its other branches (RFC 3261 16.7), so the
 * caller's INVITE gets 487 at once, its own early dialog is released, and a
 * 2xx the first fork sent at the same moment is ended as a second answer.
 * Once, the 2xx was relayed under the ended fork's tag, the call's dialog
 * then the controller's copy; later the call rang on until no_answer_s.
 */
static void test_fork_2xx_after_its_early_dialog_ended_is_acked_and_ended(void **state)
{
	(void)state;

	unsigned inv = two_forks_ring();
	const struct shard_dialog fork2 = installs[1];

	/* the caller ends fork 2's early dialog; the worker frees it */
	caller_byes_early(&fork2);
	shard_dialog_free(&table, fork2.slot);
	ctl_on_dialog_ended(ctl, 0, fork2.slot, fork2.gen + 1, CTL_END_BYE_CALLER);

	/* fork 2 answers all the same: ACK and BYE to it, 487 to the caller */
	struct ctl_stats st0, st;
	ctl_get_stats(ctl, &st0);
	unsigned base = nsent, n0 = ninstall, r0 = nrelease;
	response_from_bob_at(inv, 200, "fork2", 1300);
	assert_2xx_acked_and_ended(base, "fork2");
	assert_int_equal(ninstall, n0);	    /* the call is not confirmed with it */
	assert_int_equal(nrelease, r0 + 1); /* the call's own early dialog */
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, st0.stale_answers_ended + 1);
	assert_int_equal(st.calls_answered, st0.calls_answered);
	assert_int_equal(st.calls_failed, st0.calls_failed + 1);

	/* the first fork's 2xx at the same moment: ended too, not relayed */
	base = nsent;
	response_from_bob_at(inv, 200, "fork1", 1400);
	assert_int_equal(ninstall, n0);
	bool ack = false, bye = false;
	for (unsigned i = base; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (ntohs(sent[i].to.sin_port) == 5061 && (s->is_request || s->status != 487))
			fail_msg("the first fork's late 2xx sent the caller %.60s", sent[i].buf);
		ack |= s->is_request && s->method_id == SIP_METHOD_ACK;
		bye |= s->is_request && s->method_id == SIP_METHOD_BYE;
	}
	assert_true(ack && bye);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_answered, st0.calls_answered);
}

/*
 * The same for the first fork (the call's own early dialog) while a second
 * fork still rings in one of its own: the first fork's 2xx after the
 * caller's BYE in its early dialog is ACKed and ended, and the caller's
 * INVITE gets 487, the second fork's early dialog released: the proxy that
 * forked cancels that fork after the 2xx, and its 487 never comes. The 2xx
 * was once relayed to the caller with no dialog behind it; later the call
 * rang on until no_answer_s.
 */
static void test_first_fork_2xx_after_its_early_dialog_ended_ends_the_call(void **state)
{
	(void)state;

	unsigned inv = two_forks_ring();
	const struct shard_dialog fork1 = installs[0];

	/* the caller ends fork 1's early dialog, the call's own */
	caller_byes_early(&fork1);
	shard_dialog_free(&table, fork1.slot);
	ctl_on_dialog_ended(ctl, 0, fork1.slot, fork1.gen + 1, CTL_END_BYE_CALLER);

	struct ctl_stats st0, st;
	ctl_get_stats(ctl, &st0);
	unsigned base = nsent, n0 = ninstall, r0 = nrelease;
	response_from_bob_at(inv, 200, "fork1", 1300);
	assert_2xx_acked_and_ended(base, "fork1");
	assert_int_equal(ninstall, n0);
	assert_int_equal(nrelease, r0 + 1); /* the second fork's early dialog */
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, st0.stale_answers_ended + 1);
	assert_int_equal(st.calls_answered, st0.calls_answered);
	assert_int_equal(st.calls_failed, st0.calls_failed + 1);

	/* the second fork's 180 after that: nothing reaches the caller */
	base = nsent;
	response_from_bob_at(inv, 180, "fork2", 1400);
	assert_int_equal(nsent, base);
}

/*
 * The caller ends the first fork's early dialog (the call's own) with a BYE
 * while a second fork rings in an early dialog of its own, and the second
 * fork answers: the worker keeps the call's slot for it (its tags emptied,
 * shard_dialog_retire_first_fork) and tells the controller, so the 2xx
 * confirms the call there, under the second fork's tag, and the caller's
 * ACK and BYE reach that fork. The worker freed the slot: the 2xx reached
 * the caller with no dialog behind it, its ACK and BYE answered 481. The
 * first fork's requests and provisionals get nothing relayed after it.
 */
static void test_second_fork_answers_after_first_forks_early_dialog_ended(void **state)
{
	char tag2[64], tag_2xx[64];
	(void)state;

	unsigned inv = two_forks_ring();
	const struct shard_dialog fork1 = installs[0];
	sent_to_tag(nsent - 1, tag2, sizeof(tag2));

	/* the caller ends fork 1's early dialog; another fork has one of its
	 * own, so the worker keeps the slot (worker.c, keep_for_forks) */
	caller_byes_early(&fork1);
	struct relay_result res;
	assert_true(shard_dialog_has_forks(&table, fork1.slot));
	assert_false(shard_dialog_has_forks(&table, installs[1].slot));
	struct shard_dialog *x = shard_dialog_get(&table, fork1.slot, fork1.gen);
	assert_non_null(x);
	shard_dialog_retire_first_fork(x);
	ctl_on_first_fork_ended(ctl, 0, fork1.slot, fork1.gen);

	/* fork 1's INFO and the caller's INFO there: 481 */
	res = bob_in_dialog(&fork1.legs[SHARD_LEG_B], "fork1", "INFO", 20, "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
	res = alice_in_dialog(&fork1.legs[SHARD_LEG_A], "INFO", 3, "", "");
	assert_int_equal(res.outcome, RELAY_ANSWER);
	assert_int_equal(res.status, 481);
	/* fork 1's 180 after it: nothing to the caller, nothing installed */
	unsigned base = nsent, n0 = ninstall;
	response_from_bob_at(inv, 180, "fork1", 1250);
	assert_int_equal(nsent, base);
	assert_int_equal(ninstall, n0);

	/* fork 2 answers: the call is confirmed in the kept slot */
	struct ctl_stats st0, st;
	ctl_get_stats(ctl, &st0);
	base = nsent;
	response_from_bob_at(inv, 200, "fork2", 1300);
	assert_int_equal(ninstall, n0 + 1);
	assert_int_equal(last_install.slot, fork1.slot);
	assert_int_equal(last_install.state, SHARD_DLG_CONFIRMED);
	bool answered = false;
	for (unsigned i = base; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (!s->is_request && s->status == 200 && ntohs(sent[i].to.sin_port) == 5061) {
			answered = true;
			sent_to_tag(i, tag_2xx, sizeof(tag_2xx));
		}
		if (s->is_request && s->method_id == SIP_METHOD_BYE)
			fail_msg("the second fork's 2xx ended with a BYE");
	}
	assert_true(answered);
	assert_string_equal(tag_2xx, tag2);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_answered, st0.calls_answered + 1);
	worker_applies(n0);
	const struct shard_dialog *d = shard_dialog_get(&table, fork1.slot, fork1.gen);
	assert_non_null(d);
	assert_int_equal(d->state, SHARD_DLG_CONFIRMED);

	/* the caller's ACK and BYE under fork 2's tag reach fork 2 */
	res = alice_in_dialog(&d->legs[SHARD_LEG_A], "ACK", 1, "", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(sip_view_eq(relay_out_m.buf, relay_out_m.to.tag, "fork2", 5));
	res = alice_in_dialog(&d->legs[SHARD_LEG_A], "BYE", 4, "", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(sip_view_eq(relay_out_m.buf, relay_out_m.to.tag, "fork2", 5));
}

/*
 * The same with the first fork answering after its early dialog ended, the
 * slot kept for the second: ACKed and ended, 487 to the caller, and the
 * kept slot released with fork 2's (it was relayed under the call's tag,
 * whose early dialog the caller had ended).
 */
static void test_first_fork_2xx_in_kept_slot_ends_the_call(void **state)
{
	(void)state;

	unsigned inv = two_forks_ring();
	const struct shard_dialog fork1 = installs[0];
	caller_byes_early(&fork1);
	shard_dialog_retire_first_fork(shard_dialog_get(&table, fork1.slot, fork1.gen));
	ctl_on_first_fork_ended(ctl, 0, fork1.slot, fork1.gen);

	struct ctl_stats st0, st;
	ctl_get_stats(ctl, &st0);
	unsigned base = nsent, n0 = ninstall, r0 = nrelease;
	response_from_bob_at(inv, 200, "fork1", 1300);
	assert_2xx_acked_and_ended(base, "fork1");
	assert_int_equal(ninstall, n0);
	assert_int_equal(nrelease, r0 + 2); /* the kept slot and fork 2's */
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_failed, st0.calls_failed + 1);
	assert_int_equal(st.first_forks_ended, 1);
}

/*
 * A fork refused an early dialog of its own (the call has its most) rings
 * in the call's, the first fork's: once the caller ended that one (its BYE,
 * the slot kept for the other forks), that fork's provisional is not
 * relayed either: under the tag of the early dialog the caller ended it
 * made the caller ring in it again, where every request got 481, and that
 * fork's 2xx is ended (the caller's INVITE answered 487) all the same.
 */
static void test_refused_fork_rings_not_in_ended_early_dialog(void **state)
{
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob_with(inv, 183, "fork1", "Require: 100rel\r\nRSeq: 1\r\n", 1100);
	worker_applies(0);
	const struct shard_dialog fork1 = installs[0];
	three_more_forks_ring(inv);
	worker_applies(1);
	struct relay_result res = alice_in_dialog(&fork1.legs[SHARD_LEG_A], "BYE", 2, "", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(shard_dialog_has_forks(&table, fork1.slot));
	shard_dialog_retire_first_fork(shard_dialog_get(&table, fork1.slot, fork1.gen));
	ctl_on_first_fork_ended(ctl, 0, fork1.slot, fork1.gen);

	struct ctl_stats st0, st;
	ctl_get_stats(ctl, &st0);
	unsigned base = nsent, n0 = ninstall;
	response_from_bob_at(inv, 180, "fork5", 1200);
	assert_int_equal(ninstall, n0);
	for (unsigned i = base; i < nsent; i++)
		if (ntohs(sent[i].to.sin_port) == 5061)
			fail_msg("a refused fork's 180 reached the caller in the early dialog it "
				 "ended: %.60s",
				 sent[i].buf);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.forks_refused, st0.forks_refused + 1);
	assert_int_equal(st.late_provisionals, st0.late_provisionals + 1);

	/* its 2xx: ACKed and ended, 487 to the caller */
	base = nsent;
	response_from_bob_at(inv, 200, "fork5", 1300);
	assert_2xx_acked_and_ended(base, "fork5");
}

/*
 * A restart while a call rings on two forks, each in an early dialog of
 * its own toward the caller: the second fork's is taken up with the call's
 * set-up record, as the call's own is. It was dropped at the re-attach:
 * the caller's PRACK of that fork's 183 got 481, its slot went back to the
 * pool (counted as a call carried over), and that fork's 2xx came to the
 * caller under the first fork's tag, the dialog the PRACK had moved gone.
 */
static void test_fork_early_dialog_carried_over_a_restart(void **state)
{
	char tag2[64], tag_2xx[64];
	struct ctl_stats st;
	(void)state;

	unsigned inv = two_forks_ring();
	sent_to_tag(nsent - 1, tag2, sizeof(tag2));
	const struct shard_dialog call = installs[0], fork2 = installs[1];
	struct sent bob_invite = sent[inv];

	assert_int_equal(restart(), 1);
	if (table.dialogs[fork2.slot].state != SHARD_DLG_EARLY)
		fail_msg("the second fork's early dialog was dropped at the restart");
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[fork2.slot]));
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 1);

	/* the caller's PRACK in it reaches the second fork */
	struct relay_result res =
	    alice_in_dialog(&fork2.legs[SHARD_LEG_A], "PRACK", 2, "RAck: 1 1 INVITE\r\n", "");
	if (res.outcome != RELAY_SEND)
		fail_msg("PRACK in the second fork's early dialog after the restart: outcome %d "
			 "status %d",
			 res.outcome, res.status);
	assert_true(sip_view_eq(relay_out_m.buf, relay_out_m.to.tag, "fork2", 5));
	uint32_t prack_cseq = relay_out_m.cseq.num;
	/* the callee's own request in it reaches the caller */
	res = bob_in_dialog(&fork2.legs[SHARD_LEG_B], "fork2", "INFO", 5, "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(sip_view_eq(relay_out, relay_out_m.from.tag, tag2, strlen(tag2)));

	/* the second fork answers: under its tag, the call's dialog its own */
	sent[0] = bob_invite;
	nsent = 1;
	unsigned r0 = nrelease;
	response_from_bob_at(0, 200, "fork2", 1300);
	assert_int_equal(ninstall, 1);
	assert_int_equal(installs[0].slot, call.slot);
	assert_int_equal(installs[0].state, SHARD_DLG_CONFIRMED);
	assert_int_equal(nrelease, r0 + 1); /* the second fork's early dialog */
	bool answered = false;
	for (unsigned i = 1; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (!s->is_request && s->status == 200 && ntohs(sent[i].to.sin_port) == 5061) {
			answered = true;
			sent_to_tag(i, tag_2xx, sizeof(tag_2xx));
		}
	}
	assert_true(answered);
	assert_string_equal(tag_2xx, tag2);
	worker_applies(0);
	res = alice_in_dialog(&fork2.legs[SHARD_LEG_A], "BYE", 3, "", "");
	assert_int_equal(res.outcome, RELAY_SEND);
	assert_true(sip_view_eq(relay_out_m.buf, relay_out_m.to.tag, "fork2", 5));
	if (relay_out_m.cseq.num <= prack_cseq)
		fail_msg("BYE to the second fork with CSeq %u after the PRACK's %u",
			 relay_out_m.cseq.num, prack_cseq);
}

/* The worker kept the call's slot for a second fork (the caller's BYE in
 * the first fork's early dialog) and the process was killed before its
 * notice reached the controller: the restart reads it from the record (the
 * first fork's tag emptied), so the first fork's 2xx is ended and the
 * caller gets 487. It was taken for the first fork's early dialog: its 183
 * installed that dialog again and its 2xx answered the call under a tag
 * whose early dialog the caller had ended. */
static void test_kept_slot_notice_lost_at_a_restart(void **state)
{
	(void)state;

	unsigned inv = two_forks_ring();
	const struct shard_dialog fork1 = installs[0];
	caller_byes_early(&fork1);
	shard_dialog_retire_first_fork(shard_dialog_get(&table, fork1.slot, fork1.gen));
	struct sent bob_invite = sent[inv];

	assert_int_equal(restart(), 1); /* the notice never came */
	sent[0] = bob_invite;
	nsent = 1;
	response_from_bob_at(0, 183, "fork1", 1250);
	assert_int_equal(ninstall, 0);
	assert_int_equal(nsent, 1);
	response_from_bob_at(0, 200, "fork1", 1300);
	assert_int_equal(ninstall, 0);
	assert_2xx_acked_and_ended(1, "fork1");
}

/* A fork whose early dialog the worker had ended before the restart (its
 * notice lost with the process: the slot free in the fork's generation)
 * is taken up as ended: its 2xx is ACKed and ended, not relayed, and the
 * caller's INVITE gets 487. */
static void test_fork_ended_before_a_restart_stays_ended(void **state)
{
	(void)state;

	unsigned inv = two_forks_ring();
	const struct shard_dialog fork2 = installs[1];
	struct sent bob_invite = sent[inv];
	shard_dialog_free(&table, fork2.slot); /* the notice never came */

	assert_int_equal(restart(), 1);
	sent[0] = bob_invite;
	nsent = 1;
	response_from_bob_at(0, 200, "fork2", 1300);
	assert_int_equal(ninstall, 0);
	assert_2xx_acked_and_ended(1, "fork2");
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.stale_answers_ended, 1);
}

/*
 * No fork of a call takes the call's own slot: a fork is given an early
 * dialog (ctl_fork_add) only while the worker holds the call's (installed),
 * and the slot comes back to the pool only when the worker ended that one
 * (slot_gone, for good: no provisional installs it again). Here the slot
 * is on top of the pool (the pools hand the slot freed last out first)
 * when another fork rings, once after the caller's BYE with no other fork
 * ringing, once at its expiry with a second fork ringing in a slot of its
 * own: neither gets an early dialog or reaches the caller, and the next
 * call takes the slot. So a set-up record whose fork (not ended) names its
 * call's own slot is no record a run leaves (forks_ok).
 */
static void test_no_fork_takes_the_calls_slot_after_its_early_dialog_ended(void **state)
{
	struct ctl_stats st0, st;
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob_with(inv, 183, "fork1", rseq1, 1100);
	worker_applies(0);
	const struct shard_dialog call = installs[0];
	caller_byes_early(&call);
	assert_false(shard_dialog_has_forks(&table, call.slot));
	shard_dialog_free(&table, call.slot);
	ctl_on_dialog_ended(ctl, 0, call.slot, call.gen + 1, CTL_END_BYE_CALLER);
	ctl_get_stats(ctl, &st0);
	unsigned base = nsent, n0 = ninstall;
	response_from_bob_with(inv, 183, "fork2", rseq1, 1200);
	assert_int_equal(ninstall, n0);
	assert_int_equal(nsent, base);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.fork_dialogs, 0);
	assert_int_equal(st.late_provisionals, st0.late_provisionals + 1);
	nsent = 0;
	numbered_invite(2);
	response_from_bob(invite_to_bob(), 180, "next");
	assert_int_equal(ninstall, n0 + 1);
	assert_int_equal(last_install.slot, call.slot);
	assert_int_equal(last_install.gen, call.gen + 1);

	/* the call's early dialog expires while a second fork rings */
	teardown_file(state);
	setup_file(state);
	unsigned inv2 = two_forks_ring();
	const struct shard_dialog call2 = installs[0], fork2 = installs[1];
	shard_dialog_free(&table, call2.slot);
	ctl_on_dialog_ended(ctl, 0, call2.slot, call2.gen + 1, CTL_END_IDLE);
	ctl_get_stats(ctl, &st0);
	base = nsent;
	n0 = ninstall;
	response_from_bob_with(inv2, 183, "fork3", rseq1, 1300);
	assert_int_equal(ninstall, n0);
	assert_int_equal(nsent, base);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.fork_dialogs, st0.fork_dialogs);
	assert_int_equal(st.late_provisionals, st0.late_provisionals + 1);
	nsent = 0;
	numbered_invite(2);
	response_from_bob(invite_to_bob(), 180, "next");
	assert_int_equal(ninstall, n0 + 1);
	assert_int_equal(last_install.slot, call2.slot);
	assert_int_not_equal(last_install.slot, fork2.slot);
}

/* A call (n: numbered_invite's; 0: invite_from_alice's) that rings on two
 * forks of leg B, each in an early dialog the worker holds: the call's own
 * into *call, the second fork's into *fork. */
static void call_rings_on_two_forks(int n, struct shard_dialog *call, struct shard_dialog *fork)
{
	nsent = 0;
	if (n)
		numbered_invite(n);
	else
		invite_from_alice();
	unsigned inv = invite_to_bob(), before = ninstall;
	response_from_bob(inv, 180, "fork1");
	response_from_bob(inv, 180, "fork2");
	assert_int_equal(ninstall, before + 2);
	worker_applies(before);
	*call = installs[before];
	*fork = installs[before + 1];
	assert_int_equal(fork->state, SHARD_DLG_EARLY);
	assert_int_not_equal(fork->slot, call->slot);
}

/* Closes the controller and writes over the record of the early dialog of
 * fork (as installed) in its call's set-up record (struct ctl_fork: slot
 * and generation, gone, then the tag, found by it) the slot, generation and
 * tag given, as a damaged or hostile setups.tbl may hold them. */
static void rewrite_fork(const struct shard_dialog *fork, uint32_t slot, uint32_t gen,
			 const struct shard_dialog *tag_of)
{
	struct ctl_pool pool;
	struct stat sb;
	static char recs[1 << 20];

	ctl_get_pool(ctl, &pool);
	ctl_close(ctl);
	ctl = NULL;
	int fd = open(setups_path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	size_t n = pool.records * pool.record_bytes;
	assert_true(n <= sizeof(recs));
	off_t first = sb.st_size - (off_t)n;
	assert_int_equal(pread(fd, recs, n, first), (ssize_t)n);
	const struct sip_session *a = &fork->legs[SHARD_LEG_A];
	char *at = memmem(recs, n, a->local_tag, a->local_tag_len);
	assert_non_null(at);
	uint32_t was[2];
	memcpy(was, at - 9, sizeof(was));
	assert_int_equal(was[0], fork->slot);
	assert_int_equal(was[1], fork->gen);
	const uint32_t now[2] = {slot, gen};
	memcpy(at - 9, now, sizeof(now));
	const struct sip_session *t = &tag_of->legs[SHARD_LEG_A];
	assert_int_equal(t->local_tag_len, a->local_tag_len);
	memcpy(at, t->local_tag, t->local_tag_len);
	assert_int_equal(pwrite(fd, recs, n, first), (ssize_t)n);
	close(fd);
}

/* fork (an installed early dialog) with the leg A tag a fork in fork_slot
 * of the call in slot and gen of shard 0 is given (shard_fork_tag_encode) */
static struct shard_dialog with_fork_tag(const struct shard_dialog *fork, uint32_t slot,
					 uint32_t gen, uint32_t fork_slot)
{
	struct shard_dialog d = *fork;
	struct sip_session *a = &d.legs[SHARD_LEG_A];
	assert_int_equal(shard_fork_tag_encode(a->local_tag, sizeof(a->local_tag), 0, slot, gen,
					       fork_slot, 0x5a000000u),
			 SHARD_TAG_LEN);
	a->local_tag_len = SHARD_TAG_LEN;
	return d;
}

/* setups_malformed of the controller now open */
static uint64_t setups_malformed(void)
{
	struct ctl_stats st;
	ctl_get_stats(ctl, &st);
	return st.setups_malformed;
}

/*
 * A set-up record names a slot its call holds, and its forks' slots: a
 * pool hands a slot out once, so a record that claims one another record
 * claims (as its own, or as a fork's early dialog), or whose fork claims
 * the call's own slot (also once the worker ended the call's early dialog)
 * or one out of the pool, is a damaged or hostile file
 * (a bit flipped, a write torn): it is freed as malformed before it holds
 * anything, as a record with any other field out of range is. A call whose
 * own slot another record's fork had been given (restore_forks, records
 * being taken up from the highest) was taken up too, the slot then both
 * the call's and that fork's: the fork's end would give it back to the
 * pool while the call held it. A fork whose early dialog the table does
 * not hold (its install lost in the ring) is forgotten, the call taken up.
 */
static void test_restart_frees_records_whose_forks_claim_a_slot_twice(void **state)
{
	struct shard_dialog y, yfork, x, xfork, free_slot;
	(void)state;

	/* the call's own slot another record's fork claims: the first call's
	 * record (0) is taken up after the second's (1) */
	call_rings_on_two_forks(7, &y, &yfork);
	call_rings_on_two_forks(0, &x, &xfork);
	rewrite_fork(&xfork, y.slot, y.gen, &y);
	assert_int_equal(reopen(), 1);
	assert_int_equal(setups_malformed(), 1);

	/* a fork's slot out of the pool */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(0, &x, &xfork);
	rewrite_fork(&xfork, DIALOGS + 3, xfork.gen, &xfork);
	assert_int_equal(reopen(), 0);
	assert_int_equal(setups_malformed(), 1);

	/* the call's own slot, as a fork's */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(0, &x, &xfork);
	rewrite_fork(&xfork, x.slot, x.gen, &x);
	assert_int_equal(reopen(), 0);
	assert_int_equal(setups_malformed(), 1);

	/* the same once the worker ended the call's early dialog (slot_gone):
	 * no fork is given an early dialog after that, so none has that slot
	 * (test_no_fork_takes_the_calls_slot_after_its_early_dialog_ended) */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(0, &x, &xfork);
	shard_dialog_free(&table, x.slot);
	ctl_on_dialog_ended(ctl, 0, x.slot, x.gen + 1, CTL_END_IDLE);
	rewrite_fork(&xfork, x.slot, x.gen + 1, &xfork);
	assert_int_equal(reopen(), 0);
	assert_int_equal(setups_malformed(), 1);

	/* another record's fork's slot (that record taken up first) */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(7, &y, &yfork);
	call_rings_on_two_forks(0, &x, &xfork);
	rewrite_fork(&yfork, xfork.slot, xfork.gen, &xfork);
	assert_int_equal(reopen(), 1);
	assert_int_equal(setups_malformed(), 1);
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[xfork.slot]));

	/* another fork's of the same call */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(0, &x, &xfork);
	response_from_bob(invite_to_bob(), 180, "fork3");
	worker_applies(ninstall - 1);
	struct shard_dialog xfork3 = installs[ninstall - 1];
	rewrite_fork(&xfork3, xfork.slot, xfork.gen, &xfork);
	assert_int_equal(reopen(), 0);
	assert_int_equal(setups_malformed(), 1);

	/* another record's own slot (that record taken up first) */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(7, &y, &yfork);
	call_rings_on_two_forks(0, &x, &xfork);
	rewrite_fork(&yfork, x.slot, x.gen, &x);
	assert_int_equal(reopen(), 1);
	assert_int_equal(setups_malformed(), 1);
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[x.slot]));

	/* a free slot: the fork's install lost in the ring, the call taken up
	 * (its tag names that slot, as ctl_fork_add made it) */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(0, &x, &xfork);
	free_slot = with_fork_tag(&xfork, x.slot, x.gen, DIALOGS - 1);
	assert_int_equal(table.dialogs[DIALOGS - 1].state, SHARD_DLG_FREE);
	rewrite_fork(&xfork, DIALOGS - 1, xfork.gen, &free_slot);
	assert_int_equal(reopen(), 1);
	assert_int_equal(setups_malformed(), 0);
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[x.slot]));
	assert_false(ctl_keeps_dialog(ctl, 0, &table.dialogs[xfork.slot]));
}

/*
 * A fork's tag toward the caller names its call's slot and generation and
 * the fork's own slot (shard_fork_tag_encode, ctl_fork_add). A set-up
 * record whose fork holds a tag that names another call, or another slot
 * or generation than the record's, is a damaged or hostile file: freed as
 * malformed, as forks_ok frees other damage. Before, restore_forks took
 * such a fork up whenever the table held an early dialog under that tag:
 * here the record taken up first (1) claimed the early dialog of a fork of
 * the other call (0), which was then the one freed, its call dropped.
 */
static void test_restart_frees_records_whose_fork_tags_name_another_slot(void **state)
{
	struct shard_dialog y, yfork, x, xfork, bad;
	(void)state;

	/* another call's fork, as the record taken up first: the other call
	 * stays, the damaged record goes */
	call_rings_on_two_forks(7, &y, &yfork);
	call_rings_on_two_forks(0, &x, &xfork);
	rewrite_fork(&xfork, yfork.slot, yfork.gen, &yfork);
	assert_int_equal(reopen(), 1);
	assert_int_equal(setups_malformed(), 1);
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[y.slot]));
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[yfork.slot]));
	assert_false(ctl_keeps_dialog(ctl, 0, &table.dialogs[x.slot]));

	/* the call's slot, another fork slot: in the record and the table */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(0, &x, &xfork);
	bad = with_fork_tag(&xfork, x.slot, x.gen, DIALOGS - 1);
	rewrite_fork(&xfork, xfork.slot, xfork.gen, &bad);
	table.dialogs[xfork.slot].legs[SHARD_LEG_A] = bad.legs[SHARD_LEG_A];
	assert_int_equal(reopen(), 0);
	assert_int_equal(setups_malformed(), 1);
	assert_false(ctl_keeps_dialog(ctl, 0, &table.dialogs[xfork.slot]));

	/* the call's slot in another generation */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(0, &x, &xfork);
	bad = with_fork_tag(&xfork, x.slot, x.gen + 1, xfork.slot);
	rewrite_fork(&xfork, xfork.slot, xfork.gen, &bad);
	table.dialogs[xfork.slot].legs[SHARD_LEG_A] = bad.legs[SHARD_LEG_A];
	assert_int_equal(reopen(), 0);
	assert_int_equal(setups_malformed(), 1);

	/* another call's slot, the fork's own slot */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(0, &x, &xfork);
	bad = with_fork_tag(&xfork, DIALOGS - 1, x.gen, xfork.slot);
	rewrite_fork(&xfork, xfork.slot, xfork.gen, &bad);
	table.dialogs[xfork.slot].legs[SHARD_LEG_A] = bad.legs[SHARD_LEG_A];
	assert_int_equal(reopen(), 0);
	assert_int_equal(setups_malformed(), 1);

	/* the call's own tag, no fork's */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(0, &x, &xfork);
	rewrite_fork(&xfork, xfork.slot, xfork.gen, &x);
	table.dialogs[xfork.slot].legs[SHARD_LEG_A].local_tag_len = 0;
	SESSION_SET(&table.dialogs[xfork.slot].legs[SHARD_LEG_A], local_tag,
		    x.legs[SHARD_LEG_A].local_tag, x.legs[SHARD_LEG_A].local_tag_len);
	assert_int_equal(reopen(), 0);
	assert_int_equal(setups_malformed(), 1);

	/* as ctl_fork_add made it: taken up */
	teardown_file(state);
	setup_file(state);
	call_rings_on_two_forks(0, &x, &xfork);
	rewrite_fork(&xfork, xfork.slot, xfork.gen, &xfork);
	assert_int_equal(reopen(), 1);
	assert_int_equal(setups_malformed(), 0);
	assert_true(ctl_keeps_dialog(ctl, 0, &table.dialogs[xfork.slot]));
}

/*
 * Forking (RFC 3261 13.2.2.4, RFC 3262): the first fork answered the
 * INVITE's offer in a reliable 183 (the early dialog the worker holds), then
 * a second fork (another To tag) answered the call with a 2xx carrying an
 * answer of its own. The session the call has is the second fork's: the
 * offer/answer the early dialog had is another dialog's. The controller's
 * copy kept the first fork's answer (Stable: the 2xx's body was taken for
 * no answer), so the worker's dialog and `sipshardctl dialogs` showed the
 * first fork's SDP for the call the second fork answered.
 */
static void test_answering_fork_brings_its_own_session(void **state)
{
	static const char answer1[] = "v=0\r\no=fork1 1 1 IN IP4 10.9.9.1\r\n";
	static const char answer2[] = "v=0\r\no=fork2 1 1 IN IP4 10.9.9.2\r\n";
	static const char sdp_type[] = "Content-Type: application/sdp\r\n";
	char extra[256];
	(void)state;

	invite_from_alice_sdp(true);
	unsigned inv = invite_to_bob();
	snprintf(extra, sizeof(extra), "Require: 100rel\r\nRSeq: 1\r\n%s", sdp_type);
	response_from_bob_body(inv, 183, "fork1", extra, answer1, 1100);
	assert_int_equal(ninstall, 1);
	worker_applies(0);
	struct shard_dialog *d = shard_dialog_get(&table, installs[0].slot, installs[0].gen);
	assert_non_null(d);
	assert_kept(d, sdp, answer1, "the first fork's reliable 183");

	unsigned n0 = ninstall;
	response_from_bob_body(inv, 200, "fork2", sdp_type, answer2, 1200);
	assert_int_equal(ninstall, n0 + 1);
	assert_int_equal(last_install.state, SHARD_DLG_CONFIRMED);
	assert_kept(&last_install, sdp, answer2, "the controller's copy at the second fork's 2xx");
	worker_applies(n0);
	assert_kept(d, sdp, answer2, "the worker's dialog after the second fork's 2xx");
}

/* A second fork's 2xx without a body (its answer came in a reliable 18x
 * sipshard PRACKed, which the record never kept) leaves the session as it
 * was, Stable: an offer left open would take the callee's next offer for
 * its answer. */
static void test_bodiless_2xx_of_another_fork_leaves_the_session_stable(void **state)
{
	static const char answer1[] = "v=0\r\no=fork1 1 1 IN IP4 10.9.9.1\r\n";
	(void)state;

	invite_from_alice_sdp(true);
	unsigned inv = invite_to_bob();
	response_from_bob_body(inv, 183, "fork1",
			       "Require: 100rel\r\nRSeq: 1\r\nContent-Type: application/sdp\r\n",
			       answer1, 1100);
	response_from_bob_body(inv, 200, "fork2", "", NULL, 1200);
	assert_int_equal(last_install.state, SHARD_DLG_CONFIRMED);
	assert_signaling(&last_install, SIGNALING_STATE_STABLE, SIGNALING_STATE_STABLE,
			 "a second fork's 2xx without a body");
}

/*
 * The same with an INVITE without an offer: the first fork offered in its
 * reliable 183, the second fork's 2xx makes an offer of its own, which the
 * caller answers in its ACK (RFC 3261 13.2.1). The call waits for that
 * answer; the first fork's offer is no part of it.
 */
static void test_answering_fork_offer_replaces_the_first_forks(void **state)
{
	static const char offer1[] = "v=0\r\no=fork1 1 1 IN IP4 10.9.9.1\r\n";
	static const char offer2[] = "v=0\r\no=fork2 1 1 IN IP4 10.9.9.2\r\n";
	static const char sdp_type[] = "Content-Type: application/sdp\r\n";
	char extra[256];
	(void)state;

	invite_from_alice_sdp(false);
	unsigned inv = invite_to_bob();
	snprintf(extra, sizeof(extra), "Require: 100rel\r\nRSeq: 1\r\n%s", sdp_type);
	response_from_bob_body(inv, 183, "fork1", extra, offer1, 1100);
	assert_int_equal(ninstall, 1);
	response_from_bob_body(inv, 200, "fork2", sdp_type, offer2, 1200);
	assert_int_equal(ninstall, 2);
	assert_signaling(&last_install, SIGNALING_STATE_HAVE_LOCAL_OFFER,
			 SIGNALING_STATE_HAVE_REMOTE_OFFER, "the second fork's offer in its 2xx");
	for (int leg = 0; leg < 2; leg++) {
		const struct session_body *o = &last_install.legs[leg].offer;
		if (o->len != strlen(offer2) || memcmp(o->data, offer2, o->len))
			fail_msg("leg %c's offer is \"%.*s\", not the second fork's",
				 leg ? 'B' : 'A', (int)o->len, o->data);
	}
}

/*
 * RFC 3261 17.1.1.2: leg B's INVITE client transaction ACKs every non-2xx
 * final, and each retransmission of it. A callee that answered only after
 * sipshard had ended the call itself (Timer B: a 408 to the caller; or 64*T1
 * after an unanswered CANCEL: a 487) got no ACK while the call's record
 * waited for the caller's ACK, and so resent its final until its Timer H;
 * once the record had left, the same final was ACKed
 * (ack_final_of_gone_call).
 */
static void test_final_after_a_local_final_is_acked(void **state)
{
	(void)state;

	invite_from_alice();
	unsigned inv = invite_to_bob();
	for (uint64_t t = 1010; t <= 33000; t += 10)
		ctl_on_tick(ctl, t); /* Timer B: 408 to alice */
	assert_int_equal(sent_msg(nsent - 1)->status, 408);
	unsigned base = nsent;
	response_from_bob_at(inv, 486, "late", 33100);
	bool acked = false;
	for (unsigned i = base; i < nsent; i++)
		if (sent_msg(i)->is_request && out.method_id == SIP_METHOD_ACK &&
		    ntohs(sent[i].to.sin_port) == 5090)
			acked = true;
	if (!acked)
		fail_msg("bob's 486 after the call's 408 not ACKed (%u sent)", nsent - base);
}
/* A 3xx from the callee reaches the caller with its Contact (RFC 3261 8.1.3.4,
 * 21.3: the addresses to try): the relay stripped every Contact of a final
 * and added ours only to a 2xx, so the caller got a redirect to nowhere. */
static void test_redirect_keeps_its_contact(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	unsigned base = nsent;
	response_from_bob(inv, 302, "btag"); /* Contact: <sip:bob@127.0.0.1:5090> */
	assert_int_equal(nsent, base + 2);   /* the ACK to bob, the 302 to alice */
	const struct sip_msg *r = sent_msg(base + 1);
	assert_int_equal(r->status, 302);
	if (r->ncontacts != 1)
		fail_msg("302 relayed with %u Contacts:\n%.*s", r->ncontacts,
			 (int)sent[base + 1].len, sent[base + 1].buf);
	assert_non_null(
	    memmem(sent[base + 1].buf, sent[base + 1].len, "sip:bob@127.0.0.1:5090", 22));
}

/* A retransmission of the INVITE while the callee rings gets the last
 * provisional relayed (RFC 3261 17.2.1: "the most recent provisional
 * response that was received from the TU MUST be passed to the transport
 * layer for retransmission"), not 100: a 180 or 183 lost on the way to the
 * caller was never sent again, and with the 100 the caller stops asking. */
static void test_retransmitted_invite_gets_the_last_provisional(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "btag");
	unsigned base = nsent;
	invite_from_alice();
	assert_int_equal(nsent, base + 1);
	const struct sip_msg *r = sent_msg(base);
	if (r->status != 180)
		fail_msg("retransmitted INVITE after the 180 answered %d", r->status);
	/* with the caller's tag for the dialog the 180 made */
	assert_true(r->to.has_tag);
}

/* alice's INVITE with Call-ID a1 and From tag atag (invite_from_alice's),
 * but with its own branch and CSeq. */
static void invite_from_alice_txn(const char *branch, unsigned cseq)
{
	from_alice("INVITE sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=%s\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: %u INVITE\r\n"
		   "Contact: <sip:alice@10.1.1.1:5061>\r\n"
		   "Content-Length: 0\r\n\r\n",
		   branch, cseq);
}

/* The ACK of a 482 answered to a merged copy of the caller's INVITE (the
 * same request by another branch, RFC 3261 8.2.2.2) is not the ACK of the
 * call's own final: it freed the record, so the caller's INVITE resent
 * (its final lost) found no call and became a new one, and the final went
 * unresent. Only an ACK with the INVITE's branch ends the record (17.2.3). */
static void test_ack_of_a_482_keeps_the_call(void **state)
{
	struct ctl_stats st;
	(void)state;

	invite_from_alice_txn("z9hG4bKinv1", 1);
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 486, "btag");
	unsigned base = nsent;
	invite_from_alice_txn("z9hG4bKmerged", 1);
	assert_int_equal(nsent, base + 1);
	assert_int_equal(sent_msg(base)->status, 482);
	from_alice("ACK sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKmerged\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>;tag=ss1\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 ACK\r\n"
		   "Content-Length: 0\r\n\r\n");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.acks_absorbed, 0);
	/* the caller's INVITE again: its final again, no new call */
	base = nsent;
	invite_from_alice_txn("z9hG4bKinv1", 1);
	assert_int_equal(nsent, base + 1);
	assert_int_equal(sent_msg(base)->status, 486);
	ack_from_alice();
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.acks_absorbed, 1);
}

/*
 * RFC 3261 9.2: a CANCEL matches the INVITE whose server transaction it
 * would match (17.2.3: its top Via branch, and CSeq number); one that
 * matches none gets 481. The CANCEL of a merged copy of the INVITE (another
 * branch, answered 482: a forking proxy that sent both copies here cancels
 * the copy whose 482 it has not seen yet) was taken by Call-ID and From tag
 * alone for the call's own: the 200 said it had cancelled something, and
 * the call ringing on the first branch was cancelled at the callee.
 */
static void test_cancel_of_a_merged_copy_keeps_the_call(void **state)
{
	struct ctl_stats st;
	(void)state;

	invite_from_alice_txn("z9hG4bKinv1", 1);
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "btag");
	unsigned base = nsent;
	invite_from_alice_txn("z9hG4bKmerged", 1);
	assert_int_equal(nsent, base + 1);
	assert_int_equal(sent_msg(base)->status, 482);
	base = nsent;
	from_alice("CANCEL sip:+15551234@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKmerged\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=atag\r\n"
		   "To: <sip:+15551234@127.0.0.1>\r\n"
		   "Call-ID: a1@10.1.1.1\r\n"
		   "CSeq: 1 CANCEL\r\n"
		   "Content-Length: 0\r\n\r\n");
	bool cancelled_bob = false;
	int answer = 0;
	for (unsigned i = base; i < nsent; i++) {
		const struct sip_msg *s = sent_msg(i);
		if (s->is_request && s->method_id == SIP_METHOD_CANCEL)
			cancelled_bob = true;
		else if (!s->is_request)
			answer = s->status;
	}
	if (cancelled_bob || answer != 481)
		fail_msg("CANCEL of the merged copy: answered %d, bob's INVITE %s", answer,
			 cancelled_bob ? "CANCELLED" : "left ringing");
	/* the call's own CANCEL still cancels it */
	base = nsent;
	cancel_from_alice();
	assert_int_equal(sent_msg(base)->status, 200);
	assert_int_equal(sent_msg(base + 1)->method_id, SIP_METHOD_CANCEL);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_cancelled, 0);
}
/* An INVITE with the Call-ID and From tag of a call the controller still
 * has a record of, but another transaction (RFC 3261 17.2.3: another
 * branch, a higher CSeq), is no retransmission of it. The caller's new
 * INVITE after a 407 whose ACK was lost got that 407 again (with the
 * old CSeq, which its new transaction cannot take); an INVITE that reuses
 * the Call-ID of a call that was just answered and hung up was swallowed,
 * unanswered, for the 8 s the record lingers; the same request reaching
 * sipshard twice by two branches (a merged request, 8.2.2.2) got 100 and
 * then nothing, instead of 482. */
static void test_new_transaction_is_no_retransmission(void **state)
{
	struct ctl_stats st;
	(void)state;

	/* a 407 relayed, its ACK lost, the INVITE again with credentials */
	invite_from_alice();
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 407, "btag");
	unsigned base = nsent;
	invite_from_alice_txn("z9hG4bKinv2", 2);
	if (nsent < base + 2 || sent_msg(base)->status != 100)
		fail_msg("INVITE of a new transaction after a 407 answered %d",
			 nsent > base ? sent_msg(base)->status : 0);
	inv = base + 1;
	assert_int_equal(sent_msg(inv)->method_id, SIP_METHOD_INVITE);

	/* answered, hung up, and the Call-ID at once again for a new call */
	response_from_bob(inv, 200, "btag2");
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_BYE_CALLER);
	base = nsent;
	invite_from_alice_txn("z9hG4bKinv3", 4);
	if (nsent < base + 2)
		fail_msg("INVITE reusing the Call-ID of an ended call: %u datagrams sent",
			 nsent - base);
	assert_int_equal(sent_msg(base)->status, 100);
	assert_int_equal(sent_msg(base + 1)->method_id, SIP_METHOD_INVITE);

	/* the same request by another branch: 482; its retransmission: 100 */
	base = nsent;
	invite_from_alice_txn("z9hG4bKmerged", 4);
	assert_int_equal(nsent, base + 1);
	assert_int_equal(sent_msg(base)->status, 482);
	invite_from_alice_txn("z9hG4bKinv3", 4);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(sent_msg(base + 1)->status, 100);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.invite_retrans, 1);
}

/* The 200 to the caller's CANCEL carries the To tag of the responses to
 * its INVITE (RFC 3261 9.2: "SHOULD be the same"); it had a tag made up
 * for it. */
static void test_cancel_200_has_the_invite_to_tag(void **state)
{
	(void)state;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	const struct sip_msg *trying = sent_msg(0);
	assert_int_equal(trying->status, 100);
	char tag[128];
	snprintf(tag, sizeof(tag), "%.*s", trying->to.tag.len, sent[0].buf + trying->to.tag.off);
	response_from_bob(inv, 180, "btag");
	unsigned base = nsent;
	cancel_from_alice();
	const struct sip_msg *ok = sent_msg(base);
	assert_int_equal(ok->status, 200);
	assert_int_equal(ok->cseq.method_id, SIP_METHOD_CANCEL);
	if (!sip_view_eq(ok->buf, ok->to.tag, tag, strlen(tag)))
		fail_msg("200 to CANCEL with To tag %.*s, the INVITE's is %s", ok->to.tag.len,
			 ok->buf + ok->to.tag.off, tag);
}

/* Found auditing what a hostile peer can guess: the tags of the controller's
 * stateless answers were the low 32 bits of xorshift64* outputs, the state
 * times an odd constant, so three OPTIONS answers gave the whole state (its
 * low 32 bits are linear over GF(2) in the seed) and with it the "random"
 * part of every later leg B branch: a forged 486 then ended a call ringing
 * elsewhere (repro/predict_branch.py). Three tags must not predict the next
 * outputs. */
enum { XS_BITS = 64 };
static uint64_t xs_step(uint64_t x)
{
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return x;
}

/* The seed of an xorshift64* whose outputs 1, 2, 3 after it have these low
 * 32 bits, or 0 when no seed has. */
static uint64_t xs_solve(const uint32_t low[3])
{
	const uint64_t mult = UINT64_C(2685821657736338717);
	uint32_t inv = 1; /* the inverse of mult mod 2^32, by Newton's steps */
	for (int i = 0; i < 5; i++)
		inv *= 2 - (uint32_t)mult * inv;
	uint64_t sym[XS_BITS], piv_m[XS_BITS] = {0};
	int piv_b[XS_BITS] = {0};
	for (int i = 0; i < XS_BITS; i++)
		sym[i] = UINT64_C(1) << i;
	for (int o = 0; o < 3; o++) {
		uint64_t t[XS_BITS];
		/* one step on the symbolic state: bit i of the state is the
		 * XOR of the seed bits in sym[i] */
		for (int i = 0; i < XS_BITS; i++)
			t[i] = sym[i] ^ (i + 12 < XS_BITS ? sym[i + 12] : 0);
		for (int i = XS_BITS; i-- > 0;)
			t[i] ^= i >= 25 ? t[i - 25] : 0;
		for (int i = 0; i < XS_BITS; i++)
			sym[i] = t[i] ^ (i + 27 < XS_BITS ? t[i + 27] : 0);
		uint32_t state_low = low[o] * inv;
		for (int i = 0; i < 32; i++) {
			uint64_t r = sym[i];
			int b = state_low >> i & 1;
			for (int k = XS_BITS; k-- > 0;)
				if (r >> k & 1 && piv_m[k]) {
					r ^= piv_m[k];
					b ^= piv_b[k];
				}
			if (!r) {
				if (b)
					return 0;
				continue;
			}
			int k = 63 - __builtin_clzll(r);
			piv_m[k] = r;
			piv_b[k] = b;
		}
	}
	uint64_t seed = 0;
	for (int k = 0; k < XS_BITS; k++) {
		if (!piv_m[k])
			return 0;
		int b = piv_b[k];
		for (int j = 0; j < k; j++)
			if (piv_m[k] >> j & 1)
				b ^= (int)(seed >> j & 1);
		seed |= (uint64_t)b << k;
	}
	return seed;
}

static void test_answers_do_not_predict_branches(void **state)
{
	(void)state;
	uint32_t tags[4];
	for (unsigned i = 0; i < 4; i++) {
		nsent = 0;
		from_alice("OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKopt%u\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <sip:alice@10.1.1.1>;tag=otag%u\r\n"
			   "To: <sip:127.0.0.1>\r\n"
			   "Call-ID: o%u@10.1.1.1\r\n"
			   "CSeq: 1 OPTIONS\r\n"
			   "Content-Length: 0\r\n\r\n",
			   i, i, i);
		const struct sip_msg *r = sent_msg(0);
		assert_int_equal(r->status, 200);
		assert_int_equal(r->to.tag.len, 10);
		tags[i] = (uint32_t)strtoul(r->buf + r->to.tag.off + 2, NULL, 16);
	}
	/* the next outputs, if the generator were the one the tags show */
	uint64_t x = xs_solve(tags), predicted[9];
	for (int i = 0; i < 3; i++)
		x = xs_step(x);
	for (int i = 0; i < 9; i++) {
		x = xs_step(x);
		predicted[i] = (x * UINT64_C(2685821657736338717)) & 0xffffffffu;
	}
	assert_int_not_equal(predicted[0], tags[3]);
	nsent = 0;
	invite_from_alice();
	unsigned inv = invite_to_bob();
	const struct sip_msg *b = sent_msg(inv);
	uint32_t rnd =
	    (uint32_t)strtoul(b->buf + b->vias[0].branch.off + b->vias[0].branch.len - 8, NULL, 16);
	for (int i = 1; i < 9; i++)
		assert_int_not_equal(predicted[i], rnd);
}

/* Found auditing what a hostile peer can hold: a call refused by its callee
 * keeps its record, its dialog slot and its place under limits.max_calls
 * until the caller's ACK or Timer H (32 s). INVITEs from addresses that never
 * ACK (spoofed; repro/completed_hold.py) filled every record that way and
 * every other caller got 503 for 32 s. The oldest such record now gives way. */
static const char refusing_config[] =
    SMALL_CONFIG_HEAD " \"limits\": {\"max_calls\": 8},"
		      " \"routes\": [{\"name\": \"b\", \"target\": \"127.0.0.1:5090\"}]}";

/* forgets the CDRs written so far (the hook keeps only MAX_CDRS) */
static void drop_cdrs(void)
{
	for (unsigned i = 0; i < ncdrs; i++)
		json_decref(cdrs[i]);
	ncdrs = 0;
}

static void test_unacked_finals_give_way_to_new_calls(void **state)
{
	struct ctl_stats st;
	(void)state;
	/* 8 calls (max_calls) refused 486, their 486s never ACKed */
	for (int n = 0; n < 8; n++) {
		nsent = 0;
		numbered_invite(n);
		unsigned inv = invite_to_bob();
		response_from_bob(inv, 486, "btag");
		assert_int_equal(sent_msg(nsent - 1)->status, 486);
		drop_cdrs();
	}
	nsent = 0;
	numbered_invite(8);
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_limit, 0);
	assert_int_equal(st.completed_evicted, 1);
	(void)invite_to_bob();
	/* the first call's record went: its late ACK is a counted drop */
	from_alice("ACK sip:+15550000@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKn0\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=t0\r\n"
		   "To: <sip:+15550000@127.0.0.1>;tag=btag\r\n"
		   "Call-ID: n0@10.1.1.1\r\n"
		   "CSeq: 1 ACK\r\n"
		   "Content-Length: 0\r\n\r\n");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.dropped_unmatched, 1);
	/* the second one's ACK still ends its record */
	from_alice("ACK sip:+15550001@127.0.0.1:5060 SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 10.1.1.1:5061;branch=z9hG4bKn1\r\n"
		   "Max-Forwards: 70\r\n"
		   "From: <sip:alice@10.1.1.1>;tag=t1\r\n"
		   "To: <sip:+15550001@127.0.0.1>;tag=btag\r\n"
		   "Call-ID: n1@10.1.1.1\r\n"
		   "CSeq: 1 ACK\r\n"
		   "Content-Length: 0\r\n\r\n");
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.acks_absorbed, 1);
	/* 16 records (capacity.setups) refused and never ACKed: the next
	 * INVITE still finds one */
	for (int n = 9; n < 40; n++) {
		nsent = 0;
		numbered_invite(n);
		response_from_bob(invite_to_bob(), 486, "btag");
		drop_cdrs();
	}
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.rejected_limit, 0);
	assert_int_equal(st.rejected_capacity, 0);
	/* Timer H frees the rest as before (the call of INVITE 8, never
	 * answered, after its Timer B and then its 408's Timer H) */
	for (uint64_t t = alice_now; t <= alice_now + 128 * 500 + 2000; t += 500) {
		nsent = 0;
		ctl_on_tick(ctl, t);
	}
	ctl_get_stats(ctl, &st);
	assert_int_equal(st.calls_active, 0);
}

/* The record that gives way for a place under limits.max_calls must be one
 * that holds a place: a call refused after it rang (its early dialog
 * installed, then released by the worker) already gave its place back, and
 * evicting it left the new INVITE refused 503 while a later refused call,
 * never installed, still held one. */
static const char two_calls_config[] =
    SMALL_CONFIG_HEAD " \"limits\": {\"max_calls\": 2},"
		      " \"routes\": [{\"name\": \"b\", \"target\": \"127.0.0.1:5090\"}]}";

static void test_completed_eviction_frees_a_place(void **state)
{
	struct ctl_stats st;
	(void)state;
	/* call 0 rings (early dialog installed), is refused; the worker frees
	 * its early dialog and gives its place back */
	nsent = 0;
	numbered_invite(0);
	unsigned inv = invite_to_bob();
	response_from_bob(inv, 180, "btag");
	response_from_bob(inv, 486, "btag");
	ctl_on_dialog_ended(ctl, 0, last_install.slot, last_install.gen + 1, CTL_END_RELEASED);
	/* call 1 refused at once: holds its place until its ACK */
	nsent = 0;
	numbered_invite(1);
	response_from_bob(invite_to_bob(), 486, "btag");
	/* call 2 rings: max_calls is reached */
	nsent = 0;
	numbered_invite(2);
	response_from_bob(invite_to_bob(), 180, "btag2");
	nsent = 0;
	numbered_invite(3);
	ctl_get_stats(ctl, &st);
	if (st.rejected_limit)
		fail_msg("INVITE refused 503 though call 1 waits only for its ACK "
			 "(%llu records evicted)",
			 (unsigned long long)st.completed_evicted);
	(void)invite_to_bob();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_max_forwards_one_reaches_leg_b, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trying_carries_the_timestamp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invite_reaches_bob_with_a_salted_branch, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_retransmitted_final_gets_the_same_ack, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_final_retransmitted_after_the_record_left_is_acked,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_early_dialog_ended_during_setup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_final_sent_again_before_the_callers_ack_counted,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_response_with_a_forged_branch_is_no_left_target,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_2xx_without_to_tag_after_the_end_is_ended, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_2xx_after_early_dialog_ended_installs_nothing,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cdr_answered_call, setup_cdr, teardown),
	    cmocka_unit_test_setup_teardown(test_replacing_invite_goes_to_the_other_leg, setup_cdr,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_joining_invite_names_the_other_leg, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_replacing_invite_cancel_and_ack_keep_its_route,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replacing_invite_refused_while_draining, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cdr_wall_clock_stepped_back, setup_cdr, teardown),
	    cmocka_unit_test_setup_teardown(test_cdr_unanswered_calls, setup_cdr, teardown),
	    cmocka_unit_test_setup_teardown(test_cdr_cancelled_call, setup_cdr, teardown),
	    cmocka_unit_test_setup_teardown(test_cdr_members_escaped_as_jansson_writes_them,
					    setup_cdr, teardown),
	    cmocka_unit_test_setup_teardown(test_cdr_call_up_at_close, setup_cdr, teardown),
	    cmocka_unit_test_setup_teardown(test_cdr_calls_setting_up_at_stop, setup_cdr, teardown),
	    cmocka_unit_test_setup_teardown(test_no_answer_cancels_the_callee, setup_cdr, teardown),
	    WITH_CONFIG(test_session_interval_raised_on_422, session_config),
	    WITH_CONFIG(test_replacing_call_raises_session_interval_on_422, session_config),
	    WITH_CONFIG(test_replacing_call_answers_challenge_of_the_dialogs_party, auth_config),
	    WITH_CONFIG(test_replacing_call_sends_no_credentials_to_a_caller, auth_config),
	    WITH_CONFIG(test_replacing_call_sends_no_credentials_off_the_route, auth_config),
	    WITH_CONFIG(test_replacing_call_keeps_no_key_off_the_route, auth_config),
	    WITH_CONFIG(test_session_too_brief_refused, min_se_config),
	    WITH_CONFIG(test_failover_on_status, failover_config),
	    WITH_CONFIG(test_failover_answered_by_next_target, failover_config),
	    WITH_CONFIG(test_failover_on_silence, failover_config),
	    WITH_CONFIG(test_no_failover, failover_config),
	    WITH_CONFIG(test_silent_target_skipped, failover_config),
	    WITH_CONFIG(test_shared_target_down_not_shortened, shared_target_config),
	    WITH_CONFIG(test_failover_when_every_target_goes_down, shared_second_target_config),
	    WITH_CONFIG(test_failover_when_a_503_takes_the_last_target_out,
			shared_second_target_config),
	    WITH_CONFIG(test_all_targets_down, failover_long_down_config),
	    WITH_CONFIG(test_target_max_calls, limits_config),
	    WITH_CONFIG(test_refused_call_takes_no_turn, rr_rate_config),
	    WITH_CONFIG(test_final_after_early_bye_leaves_the_next_call_alone, limits_config),
	    WITH_CONFIG(test_down_target_probed, failover_config),
	    WITH_CONFIG(test_stale_answer_ended, failover_config),
	    WITH_CONFIG(test_keepalive_finds_target_down, failover_keepalive_config),
	    WITH_CONFIG(test_keepalive_without_down, keepalive_no_down_config),
	    WITH_CONFIG(test_503_retry_after_takes_target_out, failover_config),
	    WITH_CONFIG(test_503_retry_after_bounds, failover_config),
	    WITH_CONFIG(test_503_retry_after_without_failover, failover_408_config),
	    WITH_CONFIG(test_refreshed_routes, failover_config),
	    WITH_CONFIG(test_route_without_targets, failover_config),
	    WITH_CONFIG(test_503_retry_after_outlasts_a_probe_answer, failover_config),
	    WITH_CONFIG(test_target_disabled, failover_config),
	    WITH_CONFIG(test_options_503_retry_after, failover_keepalive_config),
	    WITH_CONFIG(test_probe_503_retry_after, failover_config),
	    WITH_CONFIG(test_left_target_503_retry_after, failover_config),
	    WITH_CONFIG(test_silent_last_target_counted_once, failover_config),
	    WITH_CONFIG(test_silent_target_of_a_reloaded_route_marked_down, failover_config),
	    WITH_CONFIG(test_failover_after_a_route_was_added_in_front, failover_config),
	    WITH_CONFIG(test_silent_target_of_a_reloaded_route_alone_not_down, failover_config),
	    WITH_CONFIG(test_target_by_name, named_config),
	    WITH_CONFIG(test_weighted_round_robin, weighted_config),
	    WITH_CONFIG(test_round_robin, failover_rr_config),
	    cmocka_unit_test_setup_teardown(test_srv_tiers, setup_srv, teardown),
	    cmocka_unit_test_setup_teardown(test_srv_zero_weight_gets_a_share,
					    setup_srv_zero_weight, teardown),
	    WITH_CONFIG(test_target_max_cps, cps_config),
	    WITH_CONFIG(test_rewrite_user, failover_rewrite_config),
	    WITH_CONFIG(test_completed_eviction_frees_a_place, two_calls_config),
	    WITH_CONFIG(test_rewrite_strip_counts_an_escape_once, failover_rewrite_config),
	    WITH_CONFIG(test_auth_challenge_answered, auth_config),
	    WITH_CONFIG(test_auth_refused, auth_config),
	    WITH_CONFIG(test_auth_proxy_then_callee, auth_config),
	    WITH_CONFIG(test_auth_chain_ends, auth_config),
	    cmocka_unit_test_prestate_setup_teardown(test_auth_chain_after_restart,
						     setup_config_file, teardown_file,
						     (void *)auth_config),
	    WITH_CONFIG(test_auth_other_realm, auth_realm_config),
	    WITH_CONFIG(test_auth_without_credentials, test_config),
	    cmocka_unit_test_prestate_setup_teardown(test_target_calls_after_restart,
						     setup_config_file, teardown_file,
						     (void *)limits_config),
	    cmocka_unit_test_prestate_setup_teardown(test_failover_after_restart, setup_config_file,
						     teardown_file, (void *)failover_config),
	    cmocka_unit_test_prestate_setup_teardown(
		test_replacing_call_counts_on_no_target_after_restart, setup_config_file,
		teardown_file, (void *)failover_config),
	    cmocka_unit_test_setup_teardown(test_adopt_carried_calls, setup_cdr, teardown),
	    cmocka_unit_test_setup_teardown(test_ringing_call_answered_after_restart, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_cancel_after_restart, setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_cancel_reason_after_restart, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_record_reason_torn, setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_given_up_kept_across_restart, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_cancel_reason_reaches_callee, setup, teardown),
	    WITH_CONFIG(test_cancel_reason_stripped, strip_reason_config),
	    cmocka_unit_test_setup_teardown(test_cancel_without_reason_has_none, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_reason_waits_for_a_provisional, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_no_answer_cancel_has_a_reason, setup, teardown),

	    cmocka_unit_test_setup_teardown(test_timers_run_on_after_restart, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_timers_of_each_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answered_records_after_restart, setup_file,
					    teardown_file),
	    cmocka_unit_test_prestate_setup_teardown(test_record_ids_not_its_invite,
						     setup_config_file, teardown_file,
						     (void *)failover_config),
	    cmocka_unit_test_setup_teardown(test_malformed_record_freed_at_restart, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_records_of_another_capacity_dropped, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_records_whose_header_was_never_written_taken_as_new, setup_file,
		teardown_file),
	    cmocka_unit_test_setup_teardown(test_free_records_released_at_close, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_early_install_lost_at_restart, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_early_install_half_written_at_restart, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_answered_call_torn_in_an_update_at_restart,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_dialogs_ended_before_restart, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_early_install_retried_on_tick, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_fork_while_the_first_forks_install_waits,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_draining_refuses_new_calls_only, setup, teardown),
	    WITH_CONFIG(test_options_405_carries_allow, options_405_config),
	    cmocka_unit_test_setup_teardown(test_bye_out_of_dialog_gets_481, setup, teardown),
	    WITH_CONFIG(test_bye_out_of_dialog_as_configured, bye_403_config),
	    WITH_CONFIG(test_405_allows_no_method_it_refuses, bye_options_405_config),
	    cmocka_unit_test_setup_teardown(test_bye_of_a_pracked_fork_is_above_its_prack, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_answers_to_leg_b_cancel_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_481_answers_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trying_and_a_final_after_the_answer_counted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_second_fork_answering_late_is_ended, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lingering_records_give_way_to_new_calls, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_caller_record_route_in_its_dialog_responses, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_answer_leaves_after_its_install, setup_ordered,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_install_carries_session_interval, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_final_after_early_dialog_goes_at_once,
					    setup_ordered, teardown),
	    cmocka_unit_test_setup_teardown(test_2xx_waits_while_the_ring_is_full, setup_ordered,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_answer_waits_for_the_next_retransmission,
					    setup_ordered, teardown),
	    cmocka_unit_test_setup_teardown(
		test_large_invite_reaches_bob_and_an_oversized_copy_gets_513, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invite_copy_larger_than_tx_buffer_size_gets_513,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_invite_whose_fields_would_not_fit_the_record_gets_400, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_callee_2xx_that_would_not_fit_the_record_ends_the_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_callee_reliable_18x_that_would_not_fit_the_record_ends_the_call, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_fork_18x_that_would_not_fit_the_record_gets_no_early_dialog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answer_too_large_for_the_ring_goes_at_once,
					    setup_ordered, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_to_b_is_retransmitted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_cancel_to_b_before_a_provisional, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_retransmitted_invite_gets_the_relayed_final, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_second_fork_2xx_acked_and_ended, setup, teardown),
	    WITH_CONFIG(test_left_target_ringing_is_cancelled, failover_config),
	    WITH_CONFIG(test_left_target_ringing_after_the_record_left_is_cancelled,
			failover_config),
	    WITH_CONFIG(test_left_target_cancel_resent_until_answered, failover_config),
	    WITH_CONFIG(test_left_target_cancel_ends_at_timer_f, failover_config),
	    cmocka_unit_test_setup_teardown(test_second_fork_2xx_retransmitted_gets_one_bye, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bye_of_a_second_fork_resent_until_answered, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_given_up_invite_answered_by_two_forks, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ringing_after_timer_b_is_cancelled, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ringing_after_timer_b_before_the_ack_is_cancelled,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_before_a_provisional_is_answered_at_once,
					    setup_cdr, teardown),
	    WITH_CONFIG(test_left_target_cancel_has_the_invite_request_uri, failover_config),
	    cmocka_unit_test_setup_teardown(
		test_given_up_cancel_too_long_to_keep_has_the_invite_request_uri, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_provisional_after_the_answer_is_a_counted_drop,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancelled_silent_callee_counts_as_cancelled,
					    setup_cdr, teardown),
	    cmocka_unit_test_setup_teardown(test_local_final_resent_until_acked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_release_is_retried, setup_refusing_release,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reinvite_in_early_dialog_refused, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_early_bye_crossing_2xx, setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_early_requests_keep_leg_b_cseq_at_the_2xx,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_answer_in_reliable_18x_makes_the_session_stable,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreliable_18x_sdp_is_no_answer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offer_in_2xx_waits_for_the_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prack_offer_in_early_dialog_survives_the_2xx,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_answer_in_a_later_reliable_18x_reaches_the_worker,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_second_fork_reliable_18x_is_pracked_here, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_refused_fork_pracked_here_retransmits_once_the_ring_has_room, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_fork_copy_after_timer_k_is_pracked_again,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_fork_copy_after_a_restart_is_pracked_again,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_refused_fork_copy_before_the_first_forks_install_is_pushed_again, setup_file,
		teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_refused_fork_copy_of_an_untracked_prack_is_pracked_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fork_in_a_freed_slot_gets_a_tag_of_its_own,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_fork_after_a_restart_gets_a_tag_of_its_own,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_fork_answering_after_our_prack_gets_a_higher_cseq,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_answering_fork_brings_its_own_session, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_second_fork_answers_with_a_body_in_its_own_dialog,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_second_fork_answers_without_a_body_in_its_own_dialog, setup_file,
		teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_second_fork_callee_requests_reach_the_caller_in_its_dialog, setup_file,
		teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_fork_2xx_after_its_early_dialog_ended_is_acked_and_ended, setup_file,
		teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_first_fork_2xx_after_its_early_dialog_ended_ends_the_call, setup_file,
		teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_second_fork_answers_after_first_forks_early_dialog_ended, setup_file,
		teardown_file),
	    cmocka_unit_test_setup_teardown(test_first_fork_2xx_in_kept_slot_ends_the_call,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_refused_fork_rings_not_in_ended_early_dialog,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_fork_early_dialog_carried_over_a_restart,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(test_kept_slot_notice_lost_at_a_restart, setup_file,
					    teardown_file),
	    cmocka_unit_test_setup_teardown(test_fork_ended_before_a_restart_stays_ended,
					    setup_file, teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_no_fork_takes_the_calls_slot_after_its_early_dialog_ended, setup_file,
		teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_restart_frees_records_whose_forks_claim_a_slot_twice, setup_file,
		teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_restart_frees_records_whose_fork_tags_name_another_slot, setup_file,
		teardown_file),
	    cmocka_unit_test_setup_teardown(
		test_bodiless_2xx_of_another_fork_leaves_the_session_stable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answering_fork_offer_replaces_the_first_forks,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_final_after_a_local_final_is_acked, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_redirect_keeps_its_contact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retransmitted_invite_gets_the_last_provisional,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ack_of_a_482_keeps_the_call, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_of_a_merged_copy_keeps_the_call, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_new_transaction_is_no_retransmission, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_200_has_the_invite_to_tag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answers_do_not_predict_branches, setup, teardown),
	    WITH_CONFIG(test_unacked_finals_give_way_to_new_calls, refusing_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
