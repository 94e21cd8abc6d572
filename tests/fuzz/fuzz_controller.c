/*
 * fuzz_controller.c - libFuzzer target for the controller (call setup,
 * CANCEL, out-of-dialog requests, timers), driven through its hooks as the
 * daemon drives it, with no threads and no sockets.
 *
 * Owns: the properties of what the controller emits. Each input is a short
 * exchange: up to six datagrams separated by the three bytes "\0\n\0". The
 * first byte of each datagram picks who sends it (the caller 10.1.1.1, the
 * callee 127.0.0.1:5090 (one of the route's three targets, taken in turn,
 * which calls fail over between after 100 ms of silence or a 5xx; the
 * called user loses a character and gains a 9; a 401 or 407 is answered with
 * the route's credentials; its responses also reach the registration, whose
 * REGISTERs go to 127.0.0.1:5093, and the targets' OPTIONS probes), or
 * 10.9.9.9, which the
 * ACL denies), the shard it arrives on, and how far the clock moves before it
 * (timers fire through ctl_on_tick), and whether the workers' command rings
 * are full while it is handled (installs and sends after an install are
 * refused), and whether an INVITE with Replaces or Join comes as the worker
 * holding the dialog it names passes it (ctl_on_replacing_invite, with a leg
 * of the first dialog installed); a value of 0xFF instead ends every installed dialog, as a worker
 * reports a completed BYE, 0xFD has the caller's BYE end every call's own early dialog installed
 * while a fork of the call rings in one of its own, the worker keeping its slot for those forks
 * (shard_dialog_retire_first_fork, ctl_on_first_fork_ended; a fork's own early dialog is no
 * call's, and left, as is a call with no fork), 0xFC ends
 * one fork's own early dialog while the call rings, as its worker reports a BYE that ended it
 * (ctl_on_dialog_ended for the fork's slot; the next byte, modulo their number, picks which of
 * those installed), and 0xFE
 * restarts the controller as the daemon
 * does after a crash: the records stay in their file, the rest of the
 * datagram is written over them as (2-byte offset, byte) pairs (a process
 * killed mid-write, or worse), and a new controller takes up what the file
 * and the worker tables hold (ctl_restore, the early dialogs no record holds
 * freed, ctl_adopt). Before parsing, the
 * placeholders "@BRANCH@", "@CALLID@" and "@FROMTAG@" become the top Via
 * branch, Call-ID and From tag of the last INVITE or CANCEL the controller
 * sent (the INVITE's transaction: a CANCEL takes its branch), "@OBRANCH@",
 * "@OCALLID@" and "@OFROMTAG@" those of the last other request it sent (the
 * registration's REGISTER, a target's OPTIONS probe, which a restart and
 * the clock's steps send again; a PRACK, an ACK of a 2xx, a BYE), and
 * "@TOTAG@" the To tag of the last response it sent, so that mutations get
 * past the transaction matching.
 * Datagrams reach the controller as the worker would hand them over.
 *
 * Checked, abort() on violation: every datagram sent parses, has a
 * destination and goes out on an existing shard; one sent after an install is
 * a 2xx, on a shard that holds a dialog; every dialog installed has
 * a slot within the shard's capacity and is not installed twice; every release names an installed
 * dialog (and is reported back ended, as the worker does), also after restarts; after the clock
 * runs far ahead, no call set-up is left in progress (calls_active counts only installed dialogs),
 * and once every dialog ended, the call limit admits exactly max_calls calls again and no call
 * counts on a target (the first of which takes 2 INVITEs a second, the second 1 call at
 * once). Does not own:
 * the parser (fuzz_sip.c), the relay (fuzz_relay.c).
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/fuzz_exchange.h"
#include "../common/addr.h"
#include "../common/fuzz_config.h"
#include "ctl/config.h"
#include "ctl/policy.h"
#include "daemon/controller.h"
#include "daemon/log.h"
#include "daemon/relay.h"

enum { NSHARDS = 2, DIALOGS = 16, MAX_DATAGRAMS = 6 };

struct fuzz_ctx {
	struct config cfg;
	struct policy *pol;
	struct ctl *ctl;
	struct sockaddr_in peers[3];
	/* installed dialogs by shard and slot: generation + 1, 0 when none, and
	 * the dialog as last installed (the worker's table after a restart) */
	uint64_t installed[NSHARDS][DIALOGS];
	struct shard_dialog dialogs[NSHARDS][DIALOGS];
	unsigned ninstalled;
	/* releases the "worker" owes the controller a dialog-ended report for,
	 * delivered after the controller call that released them returns */
	struct {
		unsigned shard;
		uint32_t slot, next_gen;
	} ended[NSHARDS * DIALOGS];
	unsigned nended;
	struct fuzz_token branch, call_id, from_tag, to_tag;
	struct fuzz_token o_branch, o_call_id, o_from_tag; /* any other request */
	struct sip_msg in, sent;
	char dgram[SIP_MAX_DATAGRAM];
	bool ring_full; /* the workers refuse commands (a full ring) */
	bool trace;	/* FUZZ_TRACE=1: print each event, for reading a crash input */
	struct ctl_hooks hooks;
	char records[64]; /* the records' file of inputs that restart */
	bool restarts;	  /* this input restarts the controller */
};
static struct fuzz_ctx ctx;

static void die(const char *what, const char *buf, size_t n)
{
	fprintf(stderr, "fuzz_controller: %s\n", what);
	if (buf && n)
		fprintf(stderr, "--- datagram (%zu bytes):\n%.*s\n---\n", n, (int)n, buf);
	abort();
}

static void hook_send(void *arg, unsigned shard, const char *buf, size_t len,
		      const struct sockaddr *to, socklen_t tolen)
{
	(void)arg;
	if (shard >= NSHARDS || !to || !tolen || len == 0 || len > SIP_MAX_DATAGRAM)
		die("send on a bad shard, to nowhere or of a bad length", buf, len);
	if (ctx.trace)
		fprintf(stderr, "send shard %u: %.*s\n", shard, (int)strcspn(buf, "\r"), buf);
	if (sip_parse(&ctx.sent, buf, len, NULL) != 0)
		die("the controller sent a datagram that does not parse", buf, len);
	if (ctx.sent.is_request) {
		/* another request (a restart's REGISTER and probes, a PRACK)
		 * leaves the INVITE's placeholders as they were, or the callee
		 * could no longer answer the INVITE */
		bool inv = ctx.sent.method_id == SIP_METHOD_INVITE ||
			   ctx.sent.method_id == SIP_METHOD_CANCEL;
		fuzz_keep(inv ? &ctx.branch : &ctx.o_branch, buf, ctx.sent.vias[0].branch);
		fuzz_keep(inv ? &ctx.call_id : &ctx.o_call_id, buf, ctx.sent.call_id);
		fuzz_keep(inv ? &ctx.from_tag : &ctx.o_from_tag, buf, ctx.sent.from.tag);
	} else if (ctx.sent.to.has_tag) {
		fuzz_keep(&ctx.to_tag, buf, ctx.sent.to.tag);
	}
}

static int hook_send_after_install(void *arg, unsigned shard, const char *buf, size_t len,
				   const struct sockaddr *to, socklen_t tolen)
{
	if (ctx.ring_full)
		return -1;
	hook_send(arg, shard, buf, len, to, tolen);
	if (ctx.sent.is_request || ctx.sent.status / 100 != 2)
		die("sent after an install, and not a 2xx", buf, len);
	/* it lets the caller use its dialog: the worker must hold one */
	unsigned held = 0;
	for (unsigned i = 0; i < DIALOGS; i++)
		held += ctx.installed[shard][i] != 0;
	if (!held)
		die("a 2xx sent after an install on a shard that holds no dialog", buf, len);
	return 0;
}

static int hook_install(void *arg, unsigned shard, const struct shard_dialog *d,
			uint32_t session_expires_s)
{
	(void)arg;
	(void)session_expires_s;
	if (ctx.ring_full)
		return -1;
	if (shard >= NSHARDS || d->slot >= DIALOGS)
		die("install outside the shard's capacity", NULL, 0);
	if (ctx.trace)
		fprintf(stderr, "install shard %u slot %u gen %u\n", shard, d->slot, d->gen);
	uint64_t *e = &ctx.installed[shard][d->slot];
	if (*e && *e != (uint64_t)d->gen + 1)
		die("install over another generation's dialog", NULL, 0);
	if (!*e)
		ctx.ninstalled++;
	*e = (uint64_t)d->gen + 1; /* the same generation again is an update */
	ctx.dialogs[shard][d->slot] = *d;
	return 0;
}

static int hook_release(void *arg, unsigned shard, uint32_t slot, uint32_t gen)
{
	(void)arg;
	if (ctx.trace)
		fprintf(stderr, "release shard %u slot %u gen %u\n", shard, slot, gen);
	if (shard >= NSHARDS || slot >= DIALOGS || ctx.installed[shard][slot] != (uint64_t)gen + 1)
		die("release of a dialog that is not installed", NULL, 0);
	ctx.installed[shard][slot] = 0;
	ctx.ninstalled--;
	/* the worker frees it and reports it ended, as worker.c does */
	ctx.ended[ctx.nended].shard = shard;
	ctx.ended[ctx.nended].slot = slot;
	ctx.ended[ctx.nended].next_gen = gen + 1;
	ctx.nended++;
	return 0;
}

/* Every CDR, whatever bytes the calls carried, is one JSON object on one line
 * with the members a billing system keys on. */
static void hook_cdr(void *arg, const char *line, size_t len)
{
	(void)arg;
	if (len < 3 || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
		abort();
	json_error_t err;
	json_t *o = json_loadb(line, len - 1, JSON_REJECT_DUPLICATES, &err);
	if (!o || !json_is_object(o) || !json_is_string(json_object_get(o, "call_id")) ||
	    !json_is_string(json_object_get(o, "disposition")) ||
	    !json_is_string(json_object_get(o, "start")) ||
	    !json_is_integer(json_object_get(o, "status"))) {
		fprintf(stderr, "bad CDR: %.*s\n", (int)len, line);
		abort();
	}
	json_decref(o);
}

static void report_ended(void)
{
	for (unsigned i = 0; i < ctx.nended; i++)
		ctl_on_dialog_ended(ctx.ctl, ctx.ended[i].shard, ctx.ended[i].slot,
				    ctx.ended[i].next_gen, CTL_END_RELEASED);
	ctx.nended = 0;
}

static void tick(uint64_t now)
{
	ctl_on_tick(ctx.ctl, now);
	report_ended();
}

/* Every installed dialog ends, as workers report completed BYEs. */
static void end_all_dialogs(void)
{
	for (unsigned s = 0; s < NSHARDS; s++)
		for (uint32_t i = 0; i < DIALOGS; i++)
			if (ctx.installed[s][i]) {
				uint32_t gen = (uint32_t)(ctx.installed[s][i] - 1);
				ctx.installed[s][i] = 0;
				ctx.ninstalled--;
				ctl_on_dialog_ended(ctx.ctl, s, i, gen + 1, CTL_END_BYE_CALLEE);
			}
}

/* The call's slot + 1 when d, installed in slot, is the early dialog of a
 * fork other than the first: its tag toward the caller names the call's
 * slot (and *gen its generation), not its own (shard_fork_tag_encode); 0
 * else. */
static uint32_t fork_call(const struct shard_dialog *d, uint32_t slot, uint32_t *gen)
{
	const struct sip_session *a = &d->legs[SHARD_LEG_A];
	uint8_t shard;
	uint32_t call;
	if (d->state != SHARD_DLG_EARLY ||
	    shard_tag_decode(a->local_tag, a->local_tag_len, &shard, &call, gen) != 0)
		return 0;
	return call != slot ? call + 1 : 0;
}

static bool is_fork_dialog(const struct shard_dialog *d, uint32_t slot)
{
	uint32_t gen;
	return fork_call(d, slot, &gen) != 0;
}

/* Whether a fork of the call installed in slot of shard s rings in an
 * early dialog of its own installed there (worker.c asks
 * shard_dialog_has_forks). */
static bool call_has_forks(unsigned s, uint32_t slot)
{
	uint32_t gen;
	for (uint32_t j = 0; j < DIALOGS; j++)
		if (ctx.installed[s][j] && fork_call(&ctx.dialogs[s][j], j, &gen) == slot + 1 &&
		    gen == (uint32_t)(ctx.installed[s][slot] - 1))
			return true;
	return false;
}

/* The caller's BYE ends every call's own early dialog installed while a
 * fork of that call rings in one of its own (not a fork's: that one is
 * freed, end_fork_dialog; nor one with no fork, which its worker frees, as
 * 0xFF has it; nor one already kept so, whose tags are gone), each kept by
 * its worker for the call's other forks: its tags toward the caller and
 * from the first fork emptied (shard_dialog_retire_first_fork), and the
 * controller told (worker.c, keep_for_forks). The slot stays installed
 * until released or confirmed. */
static void keep_early_for_forks(void)
{
	for (unsigned s = 0; s < NSHARDS; s++)
		for (uint32_t i = 0; i < DIALOGS; i++) {
			struct shard_dialog *d = &ctx.dialogs[s][i];
			if (!ctx.installed[s][i] || d->state != SHARD_DLG_EARLY ||
			    is_fork_dialog(d, i) || shard_dialog_first_fork_retired(d) ||
			    !call_has_forks(s, i))
				continue;
			if (ctx.trace)
				fprintf(stderr,
					"first fork's early dialog ended: shard %u slot %u\n", s,
					i);
			shard_dialog_retire_first_fork(d);
			ctl_on_first_fork_ended(ctx.ctl, s, i, (uint32_t)(ctx.installed[s][i] - 1));
		}
}

/* A BYE ends one fork's own early dialog while the call rings (the caller's
 * under that fork's tag, or the callee's from that fork): its worker frees
 * it and reports it ended (worker.c ended_by_bye; it is kept only as the
 * call's own early dialog, for the other forks). pick chooses among those
 * installed. */
static void end_fork_dialog(uint8_t pick)
{
	unsigned n = 0;
	for (unsigned s = 0; s < NSHARDS; s++)
		for (uint32_t i = 0; i < DIALOGS; i++)
			n += ctx.installed[s][i] && is_fork_dialog(&ctx.dialogs[s][i], i);
	if (!n)
		return;
	unsigned want = pick % n;
	for (unsigned s = 0; s < NSHARDS; s++)
		for (uint32_t i = 0; i < DIALOGS; i++) {
			if (!ctx.installed[s][i] || !is_fork_dialog(&ctx.dialogs[s][i], i) ||
			    want--)
				continue;
			uint32_t gen = (uint32_t)(ctx.installed[s][i] - 1);
			if (ctx.trace)
				fprintf(stderr,
					"fork's early dialog ended: shard %u slot %u gen %u\n", s,
					i, gen);
			ctx.installed[s][i] = 0;
			ctx.ninstalled--;
			ctl_on_dialog_ended(ctx.ctl, s, i, gen + 1, CTL_END_BYE_CALLER);
			return;
		}
}

/* Copies src into ctx.dgram with the placeholders replaced; returns the length. */
static size_t expand(const uint8_t *src, size_t len)
{
	const struct fuzz_placeholder ph[7] = {
	    {"@BRANCH@", ctx.branch.s, ctx.branch.len},
	    {"@CALLID@", ctx.call_id.s, ctx.call_id.len},
	    {"@FROMTAG@", ctx.from_tag.s, ctx.from_tag.len},
	    {"@TOTAG@", ctx.to_tag.s, ctx.to_tag.len},
	    {"@OBRANCH@", ctx.o_branch.s, ctx.o_branch.len},
	    {"@OCALLID@", ctx.o_call_id.s, ctx.o_call_id.len},
	    {"@OFROMTAG@", ctx.o_from_tag.s, ctx.o_from_tag.len},
	};
	return fuzz_expand(src, len, ctx.dgram, sizeof(ctx.dgram), ph, 7);
}

/* Whether the worker would hand this parsed datagram to the controller (an ACK
 * with a To tag reaches it through the relay, which knows no dialog here). */
static bool for_controller(const struct sip_msg *m)
{
	if (m->is_request)
		return !m->to.has_tag || m->method_id == SIP_METHOD_CANCEL ||
		       m->method_id == SIP_METHOD_ACK;
	return relay_branch_is_controller(m->buf, m->vias[0].branch);
}

/* The controller dies and a new one starts on its records (see the top). */
static void restart(const uint8_t *junk, size_t len, uint64_t now)
{
	char err[256];
	struct ctl_pool pool;
	struct shard_table tables[NSHARDS];
	const struct shard_table *tp[NSHARDS];

	report_ended();
	ctl_get_pool(ctx.ctl, &pool);
	ctl_close(ctx.ctl);
	policy_destroy(ctx.pol);
	int fd = open(ctx.records, O_RDWR);
	if (fd < 0)
		die("the records' file is gone", NULL, 0);
	off_t size = lseek(fd, 0, SEEK_END);
	off_t first = size - (off_t)pool.records * (off_t)pool.record_bytes;
	for (size_t i = 0; i + 3 <= len; i += 3) {
		off_t at = first + (off_t)((junk[i] | junk[i + 1] << 8) % (size - first));
		if (pwrite(fd, &junk[i + 2], 1, at) != 1)
			die("cannot write the records' file", NULL, 0);
	}
	close(fd);
	if (policy_create(&ctx.pol, &ctx.cfg, err, sizeof(err)) != 0 ||
	    ctl_open(&ctx.ctl, &ctx.cfg, ctx.pol, NSHARDS, DIALOGS, &ctx.hooks, ctx.records, now) !=
		0)
		die("the controller does not start again", NULL, 0);
	for (unsigned s = 0; s < NSHARDS; s++) {
		if (shard_table_open(&tables[s], NULL, DIALOGS, 32) != 0)
			die("shard_table_open failed", NULL, 0);
		for (uint32_t i = 0; i < DIALOGS; i++)
			if (ctx.installed[s][i] &&
			    shard_dialog_install(&tables[s], &ctx.dialogs[s][i], now) != 0)
				die("the worker's table refuses a dialog it held", NULL, 0);
		tp[s] = &tables[s];
	}
	uint32_t n = ctl_restore(ctx.ctl, tp, now);
	if (ctx.trace)
		fprintf(stderr, "restart: %u calls taken up\n", n);
	/* worker_reattach: an early dialog lives on only with its record */
	for (unsigned s = 0; s < NSHARDS; s++) {
		for (uint32_t i = 0; i < DIALOGS; i++) {
			const struct shard_dialog *d = &ctx.dialogs[s][i];
			if (ctx.installed[s][i] && !ctl_keeps_dialog(ctx.ctl, s, d)) {
				shard_dialog_free(&tables[s], i);
				ctx.installed[s][i] = 0;
				ctx.ninstalled--;
			}
		}
		ctl_adopt(ctx.ctl, s, &tables[s], now);
		shard_table_close(&tables[s]);
	}
}

/* For an INVITE without To-tag that carries Replaces or Join: a leg of the
 * first dialog installed, as the worker that holds it would pass it with
 * the INVITE (ctl_on_replacing_invite, with the dialog's auth_key in
 * *auth_key for its leg B, 0 for its leg A, as worker.c passes it), or NULL. */
static const struct sip_session *replaced_leg(const struct sip_msg *m, unsigned leg,
					      uint32_t *auth_key)
{
	if (!m->is_request || m->method_id != SIP_METHOD_INVITE || m->to.has_tag ||
	    !(m->first[SIP_HDR_REPLACES] || m->first[SIP_HDR_JOIN]))
		return NULL;
	for (unsigned s = 0; s < NSHARDS; s++)
		for (unsigned i = 0; i < DIALOGS; i++)
			if (ctx.installed[s][i]) {
				*auth_key =
				    (leg & 1) == SHARD_LEG_B ? ctx.dialogs[s][i].auth_key : 0;
				return &ctx.dialogs[s][i].legs[leg & 1];
			}
	return NULL;
}

static void one_datagram(const uint8_t *src, size_t len, uint64_t *now)
{
	static const uint64_t steps_ms[4] = {0, 150, 2000, 40000};

	if (len == 0)
		return;
	uint8_t sel = src[0];
	if (sel == 0xFF) {
		end_all_dialogs();
		return;
	}
	if (sel == 0xFE) {
		restart(src + 1, len - 1, *now);
		return;
	}
	if (sel == 0xFD) {
		keep_early_for_forks();
		return;
	}
	if (sel == 0xFC) {
		end_fork_dialog(len > 1 ? src[1] : 0);
		return;
	}
	*now += steps_ms[(sel >> 2) & 3];
	tick(*now);
	size_t n = expand(src + 1, len - 1);
	if (sip_parse(&ctx.in, ctx.dgram, n, NULL) != 0 || !for_controller(&ctx.in))
		return;
	const struct sockaddr_in *peer = &ctx.peers[(sel & 3) % 3];
	if (ctx.trace)
		fprintf(stderr, "t=%llu from peer %u: %.*s\n", (unsigned long long)*now,
			(sel & 3) % 3, (int)strcspn(ctx.dgram, "\r"), ctx.dgram);
	ctx.ring_full = (sel & 0x20) != 0;
	uint32_t auth_key = 0;
	const struct sip_session *y =
	    (sel & 0x40) ? replaced_leg(&ctx.in, sel >> 7, &auth_key) : NULL;
	if (y)
		ctl_on_replacing_invite(ctx.ctl, (sel >> 4) & 1, &ctx.in, y, auth_key,
					(const struct sockaddr *)peer, sizeof(*peer), *now);
	else
		ctl_on_datagram(ctx.ctl, (sel >> 4) & 1, &ctx.in, (const struct sockaddr *)peer,
				sizeof(*peer), *now);
	ctx.ring_full = false;
	report_ended();
}

static void remove_records(void)
{
	unlink(ctx.records);
}

/* Whether the input holds a restart: only such inputs pay for a file. */
static bool input_restarts(const uint8_t *data, size_t size)
{
	const uint8_t *dg;
	size_t len;
	for (int i = 0; i < MAX_DATAGRAMS && fuzz_next_datagram(&data, &size, &dg, &len); i++)
		if (len && dg[0] == 0xFE)
			return true;
	return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	ctx.trace = getenv("FUZZ_TRACE") != NULL;
	log_set_level(ctx.trace ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	if (config_load_string(&ctx.cfg, fuzz_daemon_config, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_controller: config: %s\n", err);
		abort();
	}
	test_addr_in(&ctx.peers[0], "10.1.1.1", 5061);
	test_addr_in(&ctx.peers[1], "127.0.0.1", 5090);
	test_addr_in(&ctx.peers[2], "10.9.9.9", 5060);
	snprintf(ctx.records, sizeof(ctx.records), "/tmp/fuzz_controller.%d.tbl", (int)getpid());
	atexit(remove_records);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	uint64_t now = 1000;
	const uint8_t *dg;
	size_t len;

	/* a fresh controller per input: the outcome depends on the input alone */
	ctx.hooks = (struct ctl_hooks){NULL,	     hook_send, hook_install,
				       hook_release, hook_cdr,	hook_send_after_install};
	memset(ctx.installed, 0, sizeof(ctx.installed));
	ctx.ninstalled = 0;
	ctx.nended = 0;
	ctx.branch.len = ctx.call_id.len = ctx.from_tag.len = ctx.to_tag.len = 0;
	ctx.o_branch.len = ctx.o_call_id.len = ctx.o_from_tag.len = 0;
	ctx.restarts = input_restarts(data, size);
	if (ctx.restarts)
		unlink(ctx.records);
	if (policy_create(&ctx.pol, &ctx.cfg, err, sizeof(err)) != 0)
		die("policy_create failed", err, strlen(err));
	if (ctl_open(&ctx.ctl, &ctx.cfg, ctx.pol, NSHARDS, DIALOGS, &ctx.hooks,
		     ctx.restarts ? ctx.records : NULL, now) != 0)
		die("ctl_open failed", NULL, 0);
	for (int i = 0; i < MAX_DATAGRAMS && fuzz_next_datagram(&data, &size, &dg, &len); i++)
		one_datagram(dg, len, &now);
	/* every timer fires: set-ups end in a final answer, a timeout or a
	 * dialog. The longest: timers.no_answer_s (120 s), then the CANCEL's
	 * 64*T1 (32 s), then the caller's final kept for Timer G until Timer H
	 * (32 s) */
	for (int i = 0; i < 12; i++) {
		now += 20000;
		tick(now);
	}
	struct ctl_stats st;
	ctl_get_stats(ctx.ctl, &st);
	if (ctx.trace)
		fprintf(stderr, "after timers: calls_active %llu, installed %u\n",
			(unsigned long long)st.calls_active, ctx.ninstalled);
	if (st.calls_active != ctx.ninstalled)
		die("calls still being set up after every timer fired, or a dialog lost", NULL, 0);
	end_all_dialogs();
	ctl_get_stats(ctx.ctl, &st);
	if (st.calls_active != 0)
		die("calls active after every dialog ended", NULL, 0);
	/* the call limit's count came back to zero: exactly max_calls admissions */
	for (uint32_t i = 0; i < ctx.cfg.limits.max_calls; i++)
		if (policy_call_admit(ctx.pol) != 0)
			die("a call slot of the limit leaked", NULL, 0);
	if (policy_call_admit(ctx.pol) == 0)
		die("the call limit was released more often than taken", NULL, 0);
	/* and no call counts on a target any more (targets[].max_calls) */
	struct ctl_target_info targets[4];
	size_t nt = ctl_get_targets(ctx.ctl, targets, 4);
	for (size_t i = 0; i < nt && i < 4; i++)
		if (targets[i].calls)
			die("a call still counts on a target after every call ended", NULL, 0);
	ctl_close(ctx.ctl);
	policy_destroy(ctx.pol);
	return 0;
}
