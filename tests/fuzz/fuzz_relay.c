/*
 * fuzz_relay.c - libFuzzer target for the in-dialog fast path (relay.c) on a
 * real shard table.
 *
 * Owns: the properties every relayed datagram must keep. Each input is a short
 * exchange: up to six datagrams separated by the three bytes "\0\n\0", sent in
 * turn to a shard holding one confirmed dialog (tests/common/relay_dialog.h:
 * leg A 10.1.1.1, leg B 10.2.2.2), or the call's early dialog and its forks'. Before a datagram is
 * parsed, the placeholders "@ATAG@" and
 * "@BTAG@" become the dialog's two local tags, and "@BRANCH@" becomes the
 * branch of the last request relayed, so that mutations reach the dialog and
 * the transaction records instead of stopping at 481. The first byte of the
 * input picks the output buffer size (a worker's tx_buffer_size), so that the
 * buffer-exhaustion paths run too; its bit 2 puts an operator's REFER on the
 * dialog (to leg A, or leg B with bit 3; CSeq 2), so that NOTIFYs about it are
 * answered here instead of relayed; bit 4 turns timers.session_timer on, so
 * that a 2xx naming no Session-Expires may be given the one its request's
 * sender asked for; bit 5 sets timers.min_se_s to 1800, so that refreshes
 * asking for less are refused 422; bit 6 sets strip_headers (User-Agent,
 * Server, X-Internal-Route, P-Site). With bit 7 a second byte follows: its
 * bits 0-1 install that many forks of leg B (0 to 3, the controller's most: controller_int.h),
 * each an early dialog of its own (relay_dialog_install_fork: slots 4 to 6,
 * the callee's To tags "ctag1" to "ctag3", ours toward the caller
 * "@FATAG1@" to "@FATAG3@"), beside the call's own early dialog (the first
 * fork's, To tag "btag"), which bit 2 installs alone; bit 3 gives the table
 * 3 transaction records instead of 16, so that it fills (503) and answered
 * records give way; bits 4-5 move the clock 10 ms, 1 s, 8 s or 16 s after
 * each datagram; bit 6 turns rewrite_refer_to on, so that a relayed REFER's
 * Refer-To and Referred-By name our address. After each datagram transactions expire as the
 * worker's tick has them (relay_expire, timers.transaction_timeout_ms 32 s). A datagram starting
 * with byte 0xFF moves the clock its second byte's seconds (none: past the timeout) and expires;
 * one starting 0xFE has fork (second byte modulo forks + 1; 0 the first) answer the call: the
 * controller's update confirming the call's slot under that fork's tag, as
 * the worker takes it (shard_dialog_packed_takes_fork, its open requests
 * answered), then every fork's early dialog released; a fork whose early
 * dialog ended answers nothing (the controller ends its 2xx). A dialog a BYE ends
 * is taken as worker.c's ended_by_bye takes it: the call's early dialog
 * while forks ring is kept, its first fork's tags emptied
 * (shard_dialog_retire_first_fork), any other freed. An early dialog has no
 * BYE of ours, keep-alive or transfer. Datagrams go where the worker would send
 * them: valid requests with a To-tag to relay_request, valid responses whose
 * branch is not the controller's to relay_response, responses to a BYE of
 * ours to orig_on_response, responses with the keep-alive's prefix to
 * shard_keepalive_match. Each input starts with one BYE that sipshard sent
 * on leg B (as when policy ends the call), then an OPTIONS of the keep-alive
 * on leg B; "@BYEBRANCH@" and "@KABRANCH@" become their branches. The
 * BYE's route has credentials: a 401 or 407 to it that they answer sends
 * the BYE again (check_bye), as a new transaction.
 *
 * Checked for every outcome, abort() on violation:
 *   SEND: 0 < len <= cap, a destination, and the output parses; a request
 *         keeps its method and carries the other leg's Call-ID; a response
 *         keeps its status and carries the Call-ID of the leg it goes back to;
 *   TO_CONTROLLER: only an ACK or a CANCEL that matches no transaction here;
 *   ANSWER: a response with the status reported, which parses, for a request;
 *   for a response, only the ACK of a final to an INVITE once its
 *   transaction's dialog has ended, with that final's CSeq number and Call-ID;
 *   a dialog that ends answers its open requests as the worker does
 *   (relay_end_pending): each answer parses as a 487, or a 200 to a BYE;
 *   every other end has no send buffer (out NULL) and writes none;
 *   a 422 only to an INVITE or UPDATE that asks for less than min_se_s and
 *   can refresh, with Min-SE: min_se_s; such a request is never relayed;
 *   a relayed request's Event differs from the sender's only in its id's
 *   number (the REFER's CSeq mapped between the legs);
 *   a relayed REFER's one sip Refer-To names 127.0.0.1:5060 without
 *   maddr or a transport but UDP (one written with escapes unchecked), in
 *   its URI or its header parameters, its user, headers and display name
 *   kept, with rewrite_refer_to; a sips: one, two or none are not
 *   relayed; any other
 *   Refer-To crosses as it came; its one Referred-By that is one sip or
 *   sips address without cid, likewise; any other Referred-By crosses as
 *   it came;
 *   a 503 only when every transaction record waits for its final (an
 *   answered one gives way);
 *   DROP: a reason; every other outcome: no reason;
 *   no datagram relayed holds a line of a field strip_headers names;
 *   a response gains a Session-Expires only as a 2xx, with session_timer
 *   on, and then it names the interval the dialog's timer was started from
 *   (or, for a copy of a 2xx already relayed, leaves that timer as it was);
 *   a NOTIFY answered about the operator's REFER is answered 200 or 500 and
 *   counted, and nothing else is counted so;
 *   each expiry frees the transaction shard_txn_expired names, and ends a
 *   dialog (as its sender's) only for a BYE without final whose dialog is
 *   there; a fork's 2xx is taken as another fork's exactly when its tag is
 *   not the slot's and the first fork's was not ended, and leaves the slot
 *   confirmed under that fork's tag;
 *   after each datagram the table never holds more than the dialogs installed,
 *   never more transactions than requests relayed, and never more long-head
 *   slots than transactions; every BYE of ours (first
 *   sent, retransmitted, or sent again answering a challenge) parses as a
 *   BYE on leg B, and the BYE transactions
 *   add up: busy + answered + unanswered + overwritten == sent; a keep-alive
 *   answer finds the dialog only with leg B's Call-ID and OPTIONS in its
 *   CSeq, and leaves leg B owing nothing.
 * Does not own: the parser's own properties (fuzz_sip.c), sockets (worker.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fuzz_exchange.h"
#include "../common/relay_dialog.h"
#include "daemon/orig.h"
#include "daemon/relay.h"

enum {
	SLOT = 3,
	GEN = 5,
	MAX_DATAGRAMS = 6,
	DIALOGS = 8,
	FORK_SLOT = 4, /* forks' early dialogs in slots 4, 5, 6 */
	FORK_GEN = 11,
	FORKS_MAX = 3, /* controller_int.h CTL_FORKS_MAX - 1 */
	TXNS = 16,
	TXNS_SMALL = 3,
};
/* timers.transaction_timeout_ms's default (config.c) */
#define TXN_TIMEOUT_MS 32000
/* The clock's step between datagrams, by the second selector's bits 4-5. */
static const uint64_t steps_ms[4] = {10, 1000, 8000, 16000};

static const size_t caps[4] = {256, 1024, 8192, SIP_MAX_DATAGRAM};

struct fuzz_ctx {
	struct shard_table table;
	struct relay_ctx rc;
	struct sip_msg in, out;
	char a_tag[SHARD_TAG_MAX], b_tag[SHARD_TAG_MAX];
	struct fuzz_token branch;     /* of the last request relayed */
	struct fuzz_token bye_branch; /* of the BYE we sent on leg B */
	struct fuzz_token ka_branch;  /* of the keep-alive's OPTIONS on leg B */
	struct orig_table orig;
	unsigned nforks;			  /* forks' early dialogs installed */
	char fork_tags[FORKS_MAX][SHARD_TAG_MAX]; /* theirs toward the caller */
	unsigned ndialogs;			  /* dialogs installed: 1 + nforks */
	uint64_t step_ms;			  /* the clock's step after each datagram */
	unsigned ends; /* dialogs ended: every other one without a send buffer */
	char dgram[SIP_MAX_DATAGRAM];
	char outbuf[SIP_MAX_DATAGRAM];
};
static struct fuzz_ctx ctx;

static void die(const char *what, const char *out, int n)
{
	fprintf(stderr, "fuzz_relay: %s\n", what);
	if (out && n > 0)
		fprintf(stderr, "--- output (%d bytes):\n%.*s\n---\n", n, n, out);
	abort();
}

/* orig_send_fn: every BYE of ours goes to leg B and parses as a BYE on it. */
static void check_bye(void *arg, const char *buf, size_t len, const struct sockaddr *dst,
		      socklen_t dst_len)
{
	(void)arg;
	if (!dst || !dst_len || sip_parse(&ctx.out, buf, len, NULL) != 0 ||
	    ctx.out.method_id != SIP_METHOD_BYE ||
	    !sip_view_eq(buf, ctx.out.call_id, "callB@sipshard", 14))
		die("a BYE of ours that is not a BYE on leg B", buf, (int)len);
}

/* relay_send_fn: a re-INVITE's final resent (Timer G), a 487 at its call's
 * end or a 504 when it was given up, is one, to an address; and resent[]
 * holds as many as it counts. */
static void check_resent_final(void *arg, const char *buf, size_t len, const struct sockaddr *dst,
			       socklen_t dst_len)
{
	(void)arg;
	if (!dst || !dst_len || sip_parse(&ctx.out, buf, len, NULL) != 0 || ctx.out.is_request ||
	    (ctx.out.status != 487 && ctx.out.status != 504) ||
	    ctx.out.cseq.method_id != SIP_METHOD_INVITE)
		die("a final resent that is not a 487 or 504 to an INVITE", buf, (int)len);
}

static void check_resent_counts(void)
{
	uint32_t busy = 0;
	for (unsigned i = 0; i < RELAY_RESENT_SLOTS; i++)
		busy += ctx.rc.resent[i].busy;
	if (busy != ctx.rc.resent_busy)
		die("resent[] does not hold what it counts", NULL, 0);
}

/* orig_done_fn: our one BYE ends once, with a final status or 408 (no answer). */
static void check_done(void *arg, uint64_t cookie, uint8_t method, uint8_t leg, uint32_t cseq,
		       int status, const struct sip_msg *resp)
{
	(void)arg;
	(void)leg;
	(void)cseq;
	if (cookie != 1 || method != SIP_METHOD_BYE || status < 200 || status > 699 ||
	    (!resp && status != 408) || (resp && resp->status != status))
		die("a BYE of ours ended with an impossible outcome", NULL, 0);
}

static void check_bye_counts(void)
{
	const struct orig_stats *st = &ctx.orig.st;
	if (ctx.orig.busy + st->answered + st->unanswered + st->overwritten != st->sent)
		die("BYE transactions do not add up", NULL, 0);
}

/* A fresh table with the call's dialog, as the controller installs it:
 * confirmed, or (ext) early with its forks' early dialogs. */
static void open_shard(uint8_t selector, uint8_t ext)
{
	/* two long-head slots: a third long head in flight meets a full pool */
	if (shard_table_open_heads(&ctx.table, NULL, NULL, DIALOGS, (ext & 8) ? TXNS_SMALL : TXNS,
				   2) != 0)
		die("shard_table_open_heads failed", NULL, 0);
	ctx.nforks = ext & 3;
	ctx.ndialogs = 1 + ctx.nforks;
	ctx.step_ms = steps_ms[(ext >> 4) & 3];
	ctx.ends = 0;
	bool early = ctx.nforks || (ext & 4);
	int rc = early ? relay_dialog_install_early(&ctx.table, SLOT, GEN, ctx.a_tag, ctx.b_tag,
						    "btag", 1000)
		       : relay_dialog_install(&ctx.table, SLOT, GEN, ctx.a_tag, ctx.b_tag, 1000);
	if (rc != 0)
		die("shard_dialog_install failed", NULL, 0);
	memset(ctx.fork_tags, 0, sizeof(ctx.fork_tags));
	for (unsigned i = 0; i < ctx.nforks; i++) {
		char b_remote[8] = "ctag1";
		b_remote[4] = (char)('1' + i);
		if (relay_dialog_install_fork(&ctx.table, SLOT, GEN, FORK_SLOT + i, FORK_GEN + i,
					      0x5a000000u, ctx.fork_tags[i], ctx.b_tag, b_remote,
					      1000) != 0)
			die("a fork's early dialog not installed", NULL, 0);
	}
	memset(&ctx.rc, 0, sizeof(ctx.rc));
	ctx.rc.table = &ctx.table;
	ctx.rc.advertise = "127.0.0.1:5060";
	ctx.rc.now_ms = 1000;
	ctx.rc.t1_ms = 500;
	ctx.rc.t2_ms = 4000;
	ctx.rc.session_timer = (selector & 16) != 0;
	ctx.rc.min_se_s = (selector & 32) ? 1800 : 0;
	ctx.rc.rewrite_refer_to = (ext & 64) != 0;
	if (selector & 64) {
		static struct sip_names named;
		if (!named.n && (sip_names_add(&named, "X-Internal-Route", 16) != 0 ||
				 sip_names_add(&named, "P-Site", 6) != 0))
			die("sip_names_add failed", NULL, 0);
		ctx.rc.strip = (struct sip_strip){
		    SIP_HBIT(SIP_HDR_USER_AGENT) | SIP_HBIT(SIP_HDR_SERVER), &named};
	}
	ctx.branch.len = 0;
	ctx.bye_branch.len = ctx.ka_branch.len = 0;
	orig_init(&ctx.orig, 0, 1, 500, 4000);
	if (early)
		return; /* an early dialog has no BYE of ours, keep-alive or transfer */
	if (selector & 4) {
		struct shard_dialog *d = shard_dialog_get(&ctx.table, SLOT, GEN);
		d->refer = (uint8_t)(SHARD_REFER_ACTIVE | ((selector & 8) ? SHARD_REFER_LEG_B : 0));
		d->refer_cseq = 2;
	}
	char scratch[ORIG_MAX];
	struct sip_session *b = &shard_dialog_get(&ctx.table, SLOT, GEN)->legs[SHARD_LEG_B];
	static const struct relay_req bye = {.method = SIP_METHOD_BYE,
					     .extra = "Reason: SIP;text=\"fuzz\"\r\n"};
	static const struct orig_cred cred = {
	    .auth = {"alice", "secret"}, .ntargets = 1, .targets = {{.key = 7}}};
	const struct orig_dlg dlg = {SLOT, GEN, SHARD_LEG_B, cred.targets[0].key};
	orig_set_creds(&ctx.orig, 0, 1, &cred);
	if (orig_start(&ctx.orig, &ctx.rc, b, &bye, &dlg, 1, ctx.rc.now_ms, scratch,
		       sizeof(scratch), check_bye, check_done, NULL) != 0)
		die("orig_start failed", NULL, 0);
	if (sip_parse(&ctx.out, scratch, strlen(scratch), NULL) != 0)
		die("our BYE does not parse", scratch, (int)strlen(scratch));
	fuzz_keep(&ctx.bye_branch, scratch, ctx.out.vias[0].branch);
	/* then a round of the keep-alive's, as the worker sends it */
	static const struct relay_req options = {.method = SIP_METHOD_OPTIONS};
	char branch[SHARD_KEEPALIVE_MAX];
	shard_keepalive_encode(branch, sizeof(branch), 0, SLOT, GEN, SHARD_LEG_B,
			       b->local_cseq + 1);
	if (relay_write_request(&ctx.rc, b, &options, branch, scratch, sizeof(scratch)) <= 0 ||
	    sip_parse(&ctx.out, scratch, strlen(scratch), NULL) != 0)
		die("our keep-alive OPTIONS does not parse", scratch, (int)strlen(scratch));
	shard_keepalive_sent(shard_dialog_get(&ctx.table, SLOT, GEN), SHARD_LEG_B);
	fuzz_keep(&ctx.ka_branch, scratch, ctx.out.vias[0].branch);
}

/* Answers d's open requests as the worker does (end_pending): each a 487,
 * or a 200 to a BYE; every other end as a worker with no send buffer does
 * (out NULL: the finals kept, none written; a re-INVITE's 487 for Timer G). */
static void end_pending(struct shard_dialog *d, size_t cap)
{
	char *out = ctx.ends++ & 1 ? NULL : ctx.outbuf;
	for (int leg = SHARD_LEG_A; leg <= SHARD_LEG_B; leg++) {
		int n, left = RELAY_PENDING_MAX;
		while ((n = relay_end_pending(&ctx.rc, d, leg, out, cap, NULL, NULL)) != 0) {
			if (!out && n != -ENOSPC)
				die("an open request answered into no buffer", NULL, 0);
			if (n > 0 && (sip_parse(&ctx.out, ctx.outbuf, (size_t)n, NULL) != 0 ||
				      ctx.out.is_request ||
				      (ctx.out.status != 487 &&
				       !(ctx.out.status == 200 &&
					 ctx.out.cseq.method_id == SIP_METHOD_BYE))))
				die("an open request answered other than 487 (200 to a BYE)",
				    ctx.outbuf, n);
			if (--left < 0)
				die("more open requests answered than a leg can have", NULL, 0);
		}
	}
}

/* Frees dialog slot/gen as the worker does (free_dialog): its open requests
 * answered first, ours in it no longer resent. */
static void free_dialog(uint32_t slot, uint32_t gen, size_t cap)
{
	struct shard_dialog *d = shard_dialog_get(&ctx.table, slot, gen);
	if (!d)
		return;
	end_pending(d, cap);
	orig_end_dialog(&ctx.orig, slot, gen);
	shard_dialog_free(&ctx.table, slot);
}

static void end_dialog(size_t cap)
{
	free_dialog(SLOT, GEN, cap);
}

/* A BYE ended dialog slot/gen (relay_result.dialog_ended), as worker.c's
 * ended_by_bye takes it: the call's early dialog while other forks ring in
 * early dialogs of their own stays, the first fork's tags emptied
 * (keep_for_forks); any other is freed. */
static void ended_by_bye(const struct relay_result *res, size_t cap)
{
	struct shard_dialog *d = shard_dialog_get(&ctx.table, res->ended_slot, res->ended_gen);
	if (!d)
		die("a dialog ended that was not there", NULL, 0);
	if (d->state == SHARD_DLG_EARLY && shard_dialog_has_forks(&ctx.table, d->slot)) {
		if (d->slot != SLOT)
			die("a fork's early dialog taken for the call's", NULL, 0);
		end_pending(d, cap);
		orig_end_dialog(&ctx.orig, d->slot, d->gen);
		shard_dialog_retire_first_fork(d);
		return;
	}
	free_dialog(res->ended_slot, res->ended_gen, cap);
}

/* Fork k (0: the first, the call's own early dialog) answers the call 2xx:
 * the controller updates the call's slot confirmed under that fork's tag
 * toward the caller (controller_forks.c), the worker answers what was open in
 * the first fork's early dialog and takes the fork's legs into the slot
 * (DMSG_INSTALL, shard_dialog_packed_takes_fork), then every fork's early
 * dialog is released (ctl_forks_end, DMSG_RELEASE). Nothing when the call's
 * slot is gone or confirmed, or a fork whose early dialog ended answers
 * (the first fork's retired, another's freed): the controller ends that
 * 2xx (controller.c, own_ended and f->gone). */
static void fork_answers(unsigned k, size_t cap)
{
	struct shard_dialog *call = shard_dialog_get(&ctx.table, SLOT, GEN);
	if (!call || call->state != SHARD_DLG_EARLY ||
	    (k == 0 && shard_dialog_first_fork_retired(call)) ||
	    (k && !shard_dialog_get(&ctx.table, FORK_SLOT + k - 1, FORK_GEN + k - 1)))
		return;
	static struct shard_dialog upd;
	static char packed[SHARD_DIALOG_PACKED_MAX];
	char b_remote[8] = "ctag1";
	b_remote[4] = (char)('0' + k);
	relay_dialog_fill(&upd, SLOT, GEN, k ? ctx.fork_tags[k - 1] : ctx.a_tag, ctx.b_tag);
	SESSION_SET(&upd.legs[SHARD_LEG_B], remote_tag, k ? b_remote : "btag", k ? 5 : 4);
	upd.legs[SHARD_LEG_A].session_state = SESSION_STATE_ACK_WAIT;
	upd.legs[SHARD_LEG_B].session_state = SESSION_STATE_ACK_WAIT;
	int n = shard_dialog_pack(&upd, packed, sizeof(packed));
	if (n < 0)
		die("shard_dialog_pack failed", NULL, 0);
	bool takes = k && !shard_dialog_first_fork_retired(call);
	struct shard_dialog *d = shard_dialog_packed_takes_fork(&ctx.table, packed, (size_t)n);
	if ((d != NULL) != takes)
		die("a 2xx taken for another fork's than it is", NULL, 0);
	if (d)
		end_pending(d, cap);
	const char *tag = k ? ctx.fork_tags[k - 1] : ctx.a_tag;
	if (shard_dialog_install_packed(&ctx.table, packed, (size_t)n, ctx.rc.now_ms, &d) != 0 ||
	    d != call || d->state != SHARD_DLG_CONFIRMED ||
	    d->legs[SHARD_LEG_A].local_tag_len != strlen(tag) ||
	    memcmp(d->legs[SHARD_LEG_A].local_tag, tag, strlen(tag)) != 0)
		die("the 2xx's install did not confirm the call under the fork's tag", NULL, 0);
	for (unsigned i = 0; i < ctx.nforks; i++)
		free_dialog(FORK_SLOT + i, FORK_GEN + i, cap);
}

/* Transactions expire as the worker's tick has them (relay_expire until
 * none is due): each is the one shard_txn_expired names, and only a BYE that
 * had no final, in a dialog still there, ends its dialog (RFC 3261 15.1.1). */
static void expire(size_t cap)
{
	struct relay_result res;
	for (unsigned guard = 0;; guard++) {
		int slot = shard_txn_expired(&ctx.table, ctx.rc.now_ms, TXN_TIMEOUT_MS);
		struct shard_txn was = {0};
		if (slot >= 0)
			was = ctx.table.txns[slot];
		bool alive = slot >= 0 && shard_dialog_get(&ctx.table, was.dialog, was.dialog_gen);
		int rc = relay_expire(&ctx.rc, TXN_TIMEOUT_MS, &res);
		if ((rc == 0) != (slot >= 0) || (rc != 0 && rc != -EAGAIN))
			die("relay_expire freed other than the transaction due", NULL, 0);
		if (rc != 0)
			return;
		if (guard > TXNS || shard_txn_get(&ctx.table, (uint32_t)slot, was.gen))
			die("an expired transaction is still held", NULL, 0);
		bool bye = was.method_id == SIP_METHOD_BYE && !was.final_class && alive;
		if (res.dialog_ended != bye ||
		    (bye && (res.ended_slot != was.dialog || res.ended_gen != was.dialog_gen ||
			     res.ended_by_leg != shard_txn_from_leg(&was))))
			die("an expiry ended other than the dialog of its unanswered BYE", NULL, 0);
		if (res.dialog_ended)
			ended_by_bye(&res, cap);
	}
}

/* A response with the keep-alive's branch prefix: it finds the dialog only as
 * the answer to our OPTIONS on leg B, and is then taken as the worker takes
 * it (408 and 481 end the call). */
static void keepalive_answer(const struct sip_msg *m)
{
	int leg = -1;
	struct shard_dialog *d = shard_keepalive_match(&ctx.table, 0, m, &leg);
	if (!d)
		return;
	if (d != shard_dialog_get(&ctx.table, SLOT, GEN) || leg != SHARD_LEG_B ||
	    m->cseq.method_id != SIP_METHOD_OPTIONS ||
	    !sip_view_eq(m->buf, m->call_id, "callB@sipshard", 14))
		die("a keep-alive answer matched what it does not answer", NULL, 0);
	if (m->status < 200)
		return;
	if (m->status == 408 || m->status == 481) {
		end_dialog(SIP_MAX_DATAGRAM);
		return;
	}
	shard_keepalive_answered(d, leg, ctx.rc.now_ms);
	if (shard_keepalive_behind(&d->legs[SHARD_LEG_B]) != 0)
		die("an answered keep-alive left its leg behind", NULL, 0);
}

/* Copies src into ctx.dgram with the placeholders replaced; returns the length. */
static size_t expand(const uint8_t *src, size_t len)
{
	const struct fuzz_placeholder ph[8] = {
	    {"@ATAG@", ctx.a_tag, strlen(ctx.a_tag)},
	    {"@FATAG1@", ctx.fork_tags[0], strlen(ctx.fork_tags[0])},
	    {"@FATAG2@", ctx.fork_tags[1], strlen(ctx.fork_tags[1])},
	    {"@FATAG3@", ctx.fork_tags[2], strlen(ctx.fork_tags[2])},
	    {"@BTAG@", ctx.b_tag, strlen(ctx.b_tag)},
	    {"@BYEBRANCH@", ctx.bye_branch.s, ctx.bye_branch.len},
	    {"@BRANCH@", ctx.branch.s, ctx.branch.len},
	    {"@KABRANCH@", ctx.ka_branch.s, ctx.ka_branch.len},
	};
	return fuzz_expand(src, len, ctx.dgram, sizeof(ctx.dgram), ph, 8);
}

static bool out_view_eq(sip_view v, const char *s, size_t len)
{
	return sip_view_eq(ctx.outbuf, v, s, len);
}

/* The transaction a response's top Via branch leads to, or NULL. */
static const struct shard_txn *txn_of_response(const struct sip_msg *m)
{
	uint8_t shard;
	uint32_t slot, gen, extra;
	if (shard_branch_decode(m->buf + m->vias[0].branch.off, m->vias[0].branch.len, &shard,
				&slot, &gen, &extra) != 0)
		return NULL;
	const struct shard_txn *t = shard_txn_get(&ctx.table, slot, gen);
	return t && t->salt == extra ? t : NULL;
}

/* The dialog of the transaction a response answers, or NULL. */
static struct shard_dialog *dialog_of_response(const struct sip_msg *m)
{
	const struct shard_txn *t = txn_of_response(m);
	return t ? shard_dialog_get(&ctx.table, t->dialog, t->dialog_gen) : NULL;
}

/* A relayed request's Event (RFC 6665 8.2.1) crosses as it came but for
 * the number of its id, which names a REFER by its CSeq on the leg it goes
 * to (RFC 3515 2.4.6, refer_event_id): the bytes around the id are the
 * sender's. */
static void check_event_id(const struct sip_msg *m, int n)
{
	sip_view pkg, id, opkg, oid;

	if (!m->event.len || sip_token_params(m->buf, m->event, "id", &pkg, &id) != 0)
		return;
	if (!ctx.out.event.len ||
	    sip_token_params(ctx.outbuf, ctx.out.event, "id", &opkg, &oid) != 0)
		die("a relayed request lost its Event or its package", ctx.outbuf, n);
	size_t pre = id.len ? (size_t)(id.off - m->event.off) : m->event.len;
	size_t opre = oid.len ? (size_t)(oid.off - ctx.out.event.off) : ctx.out.event.len;
	size_t suf = id.len ? (size_t)(m->event.off + m->event.len - id.off - id.len) : 0;
	size_t osuf =
	    oid.len ? (size_t)(ctx.out.event.off + ctx.out.event.len - oid.off - oid.len) : 0;
	if (pre != opre || suf != osuf || !id.len != !oid.len ||
	    memcmp(m->buf + m->event.off, ctx.outbuf + ctx.out.event.off, pre) ||
	    memcmp(m->buf + m->event.off + m->event.len - suf,
		   ctx.outbuf + ctx.out.event.off + ctx.out.event.len - suf, suf))
		die("a relayed Event changed other than in its id's number", ctx.outbuf, n);
}

/* Whether address a, header value `value` of the output, names a host
 * other than ours to send to: a maddr, or a transport but UDP, in its URI or
 * in its header parameters, which a lax reader of a bare addr-spec takes as
 * the URI's (one written with escapes unchecked; a quoted value is its
 * content). */
static bool out_names_elsewhere(sip_view value, const struct sip_addr *a)
{
	const char *b = ctx.outbuf;
	const struct sip_uri *o = &a->uri;
	struct sip_param p;

	if (o->maddr.len || (o->transport.len && !sip_view_ieq(b, o->transport, "udp", 3) &&
			     !memchr(b + o->transport.off, '%', o->transport.len)))
		return true;
	(void)value;
	uint16_t pos = (uint16_t)(a->params.off - 1);
	while (a->params.len && sip_param_next(b, a->params, &pos, &p) > 0) {
		if (memchr(b + p.name.off, '%', p.name.len))
			continue;
		sip_view v = p.value;
		if (v.len >= 2 && b[v.off] == '"' && b[v.off + v.len - 1] == '"')
			v = (sip_view){(uint16_t)(v.off + 1), (uint16_t)(v.len - 2)};
		if (sip_view_ieq(b, p.name, "maddr", 5) ||
		    (sip_view_ieq(b, p.name, "transport", 9) && !sip_view_ieq(b, v, "udp", 3) &&
		     !memchr(b + v.off, '%', v.len)))
			return true;
	}
	return false;
}

/* Whether rewritten address o (a view of the output) names our advertise
 * as host and port, nothing else to send to, and keeps u's (of m)
 * scheme, user, ?headers and display name. */
static bool out_addr_ours(const struct sip_msg *m, const struct sip_addr *u, sip_view ovalue,
			  const struct sip_addr *o)
{
	return out_view_eq(o->uri.host, "127.0.0.1", 9) && o->uri.port == 5060 &&
	       !out_names_elsewhere(ovalue, o) && o->uri.scheme == u->uri.scheme &&
	       sip_view_eq(m->buf, u->uri.user, ctx.outbuf + o->uri.user.off, o->uri.user.len) &&
	       sip_view_eq(m->buf, u->uri.headers, ctx.outbuf + o->uri.headers.off,
			   o->uri.headers.len) &&
	       sip_view_eq(m->buf, u->display, ctx.outbuf + o->display.off, o->display.len);
}

/* A relayed REFER's Refer-To: with rewrite_refer_to, one sip URI names
 * our advertise as host and port, has no maddr nor a transport but UDP
 * (nor such header parameters), and keeps its user, ?headers and display
 * name (put_refer_to); a sips: one, two or none, are never relayed
 * (refer_to_refusal: 403, 400); any other crosses as it came. */
static void check_refer_to(const struct sip_msg *m, int n)
{
	if (m->method_id == SIP_METHOD_REFER && ctx.rc.rewrite_refer_to &&
	    sip_hdr_lines(m, SIP_HDR_REFER_TO) != 1)
		die("a REFER without exactly one Refer-To relayed with rewrite_refer_to",
		    ctx.outbuf, n);
	if (m->method_id != SIP_METHOD_REFER || !m->refer_to.len)
		return;
	bool one = ctx.rc.rewrite_refer_to && sip_hdr_lines(m, SIP_HDR_REFER_TO) == 1;
	if (one && m->refer_to_addr.uri.scheme == SIP_SCHEME_SIPS)
		die("a sips: Refer-To relayed with rewrite_refer_to", ctx.outbuf, n);
	if (one && m->refer_to_addr.uri.scheme == SIP_SCHEME_SIP) {
		if (!out_addr_ours(m, &m->refer_to_addr, ctx.out.refer_to, &ctx.out.refer_to_addr))
			die("a rewritten Refer-To names other than our address or lost its user, "
			    "headers or display name",
			    ctx.outbuf, n);
	} else if (!sip_view_eq(m->buf, m->refer_to, ctx.outbuf + ctx.out.refer_to.off,
				ctx.out.refer_to.len)) {
		die("a Refer-To not to rewrite changed", ctx.outbuf, n);
	}
}

/* A relayed REFER's Referred-By (RFC 3892): with rewrite_refer_to, one line
 * that is one address with a sip or sips URI, no cid parameter and no longer than a
 * Refer-To may be (3072 bytes) names us as check_refer_to's does
 * (put_referred_by); any other crosses as it came, line by line. */
static void check_referred_by(const struct sip_msg *m, int n)
{
	const struct sip_hdr_line *h = sip_find_hdr(m, SIP_HDR_REFERRED_BY);
	struct sip_addr a = {0}, o;
	struct sip_param p;

	if (m->method_id != SIP_METHOD_REFER || !h)
		return;
	bool rewrite = ctx.rc.rewrite_refer_to && sip_hdr_lines(m, SIP_HDR_REFERRED_BY) == 1 &&
		       h->value.len <= 3072 &&
		       sip_parse_addr(&a, m->buf, h->value.off, h->value.len) == 0 &&
		       (a.uri.scheme == SIP_SCHEME_SIP || a.uri.scheme == SIP_SCHEME_SIPS);
	uint16_t pos = (uint16_t)(a.params.off - 1);
	while (rewrite && sip_param_next(m->buf, a.params, &pos, &p) > 0)
		rewrite = !sip_unescaped_ieq(m->buf + p.name.off, m->buf + p.name.off + p.name.len,
					     "cid");
	if (rewrite) {
		const struct sip_hdr_line *oh = sip_find_hdr(&ctx.out, SIP_HDR_REFERRED_BY);
		if (sip_hdr_lines(&ctx.out, SIP_HDR_REFERRED_BY) != 1 ||
		    sip_parse_addr(&o, ctx.outbuf, oh->value.off, oh->value.len) != 0 ||
		    !out_addr_ours(m, &a, oh->value, &o))
			die("a rewritten Referred-By names other than our address or lost its "
			    "user, "
			    "headers or display name",
			    ctx.outbuf, n);
		return;
	}
	uint16_t j = 0;
	for (uint16_t i = 0; i < m->nhdrs; i++) {
		if (m->hdrs[i].id != SIP_HDR_REFERRED_BY)
			continue;
		while (j < ctx.out.nhdrs && ctx.out.hdrs[j].id != SIP_HDR_REFERRED_BY)
			j++;
		if (j == ctx.out.nhdrs ||
		    !sip_view_eq(m->buf, m->hdrs[i].value, ctx.outbuf + ctx.out.hdrs[j].value.off,
				 ctx.out.hdrs[j].value.len))
			die("a Referred-By not to rewrite changed", ctx.outbuf, n);
		j++;
	}
}

static void check_send(const struct sip_msg *m, const struct relay_result *res, size_t cap)
{
	if (res->len <= 0 || (size_t)res->len > cap || !res->dst || !res->dst_len)
		die("SEND without a length within cap or a destination", NULL, 0);
	if (sip_parse(&ctx.out, ctx.outbuf, (size_t)res->len, NULL) != 0)
		die("relayed datagram does not parse", ctx.outbuf, res->len);
	if (ctx.out.is_request != m->is_request)
		die("relayed datagram changed kind", ctx.outbuf, res->len);
	for (uint16_t i = 0; i < ctx.out.nhdrs; i++) {
		const struct sip_hdr_line *h = &ctx.out.hdrs[i];
		if (h->id ? (ctx.rc.strip.ids & SIP_HBIT(h->id)) != 0
			  : ctx.rc.strip.named &&
				sip_names_has(ctx.rc.strip.named, ctx.outbuf + h->name.off,
					      h->name.len))
			die("a field strip_headers names crossed", ctx.outbuf, res->len);
	}
	if (m->is_request) {
		if (!out_view_eq(ctx.out.method, m->buf + m->method.off, m->method.len))
			die("relayed request changed method", ctx.outbuf, res->len);
		if (!out_view_eq(ctx.out.call_id, "callA@host", 10) &&
		    !out_view_eq(ctx.out.call_id, "callB@sipshard", 14))
			die("relayed request carries neither leg's Call-ID", ctx.outbuf, res->len);
		if (sip_view_eq(m->buf, m->call_id, ctx.outbuf + ctx.out.call_id.off,
				ctx.out.call_id.len))
			die("relayed request kept the sender's Call-ID", ctx.outbuf, res->len);
		check_event_id(m, res->len);
		check_refer_to(m, res->len);
		check_referred_by(m, res->len);
		/* remember our branch so that a later response can answer it */
		fuzz_keep(&ctx.branch, ctx.outbuf, ctx.out.vias[0].branch);
	} else {
		if (ctx.out.status != m->status)
			die("relayed response changed status", ctx.outbuf, res->len);
		if (!out_view_eq(ctx.out.call_id, "callA@host", 10) &&
		    !out_view_eq(ctx.out.call_id, "callB@sipshard", 14))
			die("relayed response carries neither leg's Call-ID", ctx.outbuf, res->len);
	}
}

static void check_result(const struct sip_msg *m, const struct relay_result *res, size_t cap,
			 bool txns_full)
{
	bool too_brief = m->is_request &&
			 (m->method_id == SIP_METHOD_INVITE || m->method_id == SIP_METHOD_UPDATE) &&
			 relay_session_too_brief(m, ctx.rc.min_se_s);
	uint32_t min_se = 0;
	switch (res->outcome) {
	case RELAY_SEND:
		if (too_brief)
			die("a refresh asking for less than min_se_s relayed", NULL, 0);
		check_send(m, res, cap);
		break;
	case RELAY_ANSWER:
		if (res->len <= 0 || (size_t)res->len > cap)
			die("ANSWER of a bad length", NULL, 0);
		if (!m->is_request) {
			/* the ACK of an INVITE's final whose dialog has ended, or
			 * whose transaction has gone (ack_untracked_final) */
			bool late = !txn_of_response(m) || !dialog_of_response(m);
			if (res->status || m->status < 200 ||
			    m->cseq.method_id != SIP_METHOD_INVITE || !late ||
			    sip_parse(&ctx.out, ctx.outbuf, (size_t)res->len, NULL) != 0 ||
			    ctx.out.method_id != SIP_METHOD_ACK ||
			    ctx.out.cseq.num != m->cseq.num ||
			    !sip_view_eq(ctx.outbuf, ctx.out.call_id, m->buf + m->call_id.off,
					 m->call_id.len))
				die("ANSWER to a response other than the ACK of a late INVITE "
				    "final",
				    ctx.outbuf, res->len);
			break;
		}
		if (sip_parse(&ctx.out, ctx.outbuf, (size_t)res->len, NULL) != 0 ||
		    ctx.out.is_request || ctx.out.status != res->status)
			die("answer does not parse as the status reported", ctx.outbuf, res->len);
		/* 503 only when every transaction record waits for its final
		 * (shard_txn_alloc: an answered one gives way) */
		if (res->status == 503 && !txns_full)
			die("a 503 with room in the transaction table", ctx.outbuf, res->len);
		if (res->status == 422 &&
		    (!too_brief || !sip_hdr_delta_seconds(&ctx.out, SIP_HDR_MIN_SE, &min_se) ||
		     min_se != ctx.rc.min_se_s))
			die("a 422 not for a refresh below min_se_s, or without its Min-SE",
			    ctx.outbuf, res->len);
		break;
	case RELAY_DROP:
		if (res->drop <= RELAY_DROP_NONE || res->drop >= RELAY_DROP_COUNT_)
			die("DROP without a reason", NULL, 0);
		return;
	case RELAY_TO_CONTROLLER:
		/* an ACK of no transaction here, or a CANCEL of no re-INVITE here
		 * (relay_cancel: that of the call's own INVITE, which is the
		 * controller's, or of none, which it answers 481) */
		if (!m->is_request ||
		    (m->method_id != SIP_METHOD_ACK && m->method_id != SIP_METHOD_CANCEL))
			die("only an unknown ACK or CANCEL goes to the controller", NULL, 0);
		break;
	default:
		die("outcome out of range", NULL, 0);
	}
	if (res->drop != RELAY_DROP_NONE)
		die("a drop reason with an outcome other than DROP", NULL, 0);
}

/* Whether the response's transaction had its final already: the response
 * is then a copy of that final, sent again by its sender. */
static bool answered_before(const struct sip_msg *m)
{
	const struct shard_txn *t = txn_of_response(m);
	return t && t->final_class;
}

/* A 2xx relayed with a Session-Expires it did not have (RFC 4028 section
 * 8.2): only with session_timer on, to a refresh, and the dialog's timer runs
 * from the interval written. A copy of that 2xx carries it again and leaves
 * the timer where the first put it (deadline_before). */
static void check_session_told(const struct sip_msg *m, const struct relay_result *res, bool copy,
			       uint64_t deadline_before)
{
	const struct shard_dialog *d = dialog_of_response(m);
	if (!d || !ctx.rc.session_timer || m->status < 200 || m->status >= 300 ||
	    (!res->session_refreshed && !copy))
		die("a Session-Expires added where none may be", ctx.outbuf, res->len);
	if (!sip_has_option_tag(&ctx.out, SIP_HDR_REQUIRE, "timer"))
		die("a Session-Expires added without Require: timer", ctx.outbuf, res->len);
	if (copy) {
		if (res->session_refreshed || shard_session_deadline(d) != deadline_before)
			die("a copy of a 2xx moved the session timer", ctx.outbuf, res->len);
		return;
	}
	struct shard_dialog want = *d;
	shard_session_timer_start(&want, ctx.rc.now_ms, ctx.out.session_expires_secs);
	if (want.session_expires_at_s != d->session_expires_at_s)
		die("the timer does not run from the interval told", ctx.outbuf, res->len);
}

static void one_datagram(const uint8_t *src, size_t len, size_t cap, unsigned *relayed)
{
	struct relay_result res;
	size_t n = expand(src, len);
	struct sip_msg *m = &ctx.in;
	bool copy = false;
	uint64_t deadline_before = 0;
	bool txns_full = false;

	if (len && src[0] == 0xFF) {
		/* time passes: the second byte's seconds, or past the timeout */
		ctx.rc.now_ms += len > 1 ? src[1] * 1000ull : TXN_TIMEOUT_MS + 1;
		expire(cap);
		relay_resent_tick(&ctx.rc, ctx.rc.now_ms, check_resent_final, NULL);
		check_resent_counts();
		return;
	}
	if (len && src[0] == 0xFE) {
		fork_answers(len > 1 ? src[1] % (ctx.nforks + 1) : 0, cap);
		return;
	}
	if (sip_parse(m, ctx.dgram, n, NULL) != 0)
		return; /* the worker answers 400 or drops: fuzz_sip's ground */
	if (m->is_request) {
		if (!m->to.has_tag)
			return; /* the controller's (a CANCEL with a To-tag is a re-INVITE's: here)
				 */
		struct shard_table_usage was;
		shard_table_usage(&ctx.table, &was);
		txns_full = was.txns_used == was.txns_cap && !ctx.table.hdr->txn_answered;
		uint64_t notifies = ctx.rc.refer_notifies;
		relay_request(&ctx.rc, m, ctx.outbuf, cap, &res);
		if (ctx.rc.refer_notifies != notifies &&
		    (ctx.rc.refer_notifies != notifies + 1 || m->method_id != SIP_METHOD_NOTIFY ||
		     res.outcome != RELAY_ANSWER || (res.status != 200 && res.status != 500)))
			die("a REFER NOTIFY counted without its 200 or 500", NULL, 0);
	} else {
		if (relay_branch_is_controller(m->buf, m->vias[0].branch))
			return;
		if (shard_keepalive_branch(m->buf, m->vias[0].branch)) {
			keepalive_answer(m);
			return;
		}
		if (orig_branch_is_ours(m->buf, m->vias[0].branch)) {
			orig_on_response(&ctx.orig, m, ctx.rc.now_ms,
					 &(struct orig_io){check_bye, check_done, NULL, NULL});
			check_bye_counts();
			ctx.rc.now_ms += 700; /* past Timer E: retransmit what is still open */
			orig_tick(&ctx.orig, ctx.rc.now_ms, check_bye, check_done, NULL);
			check_bye_counts();
			return;
		}
		copy = answered_before(m);
		const struct shard_dialog *d = dialog_of_response(m);
		deadline_before = d ? shard_session_deadline(d) : 0;
		relay_response(&ctx.rc, m, ctx.outbuf, cap, &res);
	}
	check_result(m, &res, cap, txns_full);
	if (!m->is_request && res.outcome == RELAY_SEND && !m->session_expires.len &&
	    ctx.out.session_expires.len)
		check_session_told(m, &res, copy, deadline_before);
	if (res.outcome == RELAY_SEND && m->is_request)
		(*relayed)++;
	if (res.dialog_ended)
		ended_by_bye(&res, cap); /* as the worker does */

	struct shard_table_usage u;
	shard_table_usage(&ctx.table, &u);
	if (u.dialogs_used > ctx.ndialogs || u.txns_used > *relayed || u.heads_used > u.txns_used)
		die("table holds more than it was given", NULL, 0);
	ctx.rc.now_ms += ctx.step_ms;
	expire(cap); /* the worker's tick */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	shard_tag_encode(ctx.a_tag, sizeof(ctx.a_tag), 0, SLOT, GEN, 0x1111);
	shard_tag_encode(ctx.b_tag, sizeof(ctx.b_tag), 0, SLOT, GEN, 0x2222);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *dg;
	size_t len;
	unsigned relayed = 0;

	if (size < 1)
		return 0;
	size_t cap = caps[data[0] & 3];
	uint8_t selector = data[0], ext = 0;
	data++;
	size--;
	if (selector & 128) {
		if (size < 1)
			return 0;
		ext = data[0];
		data++;
		size--;
	}
	open_shard(selector, ext);
	for (int i = 0; i < MAX_DATAGRAMS && fuzz_next_datagram(&data, &size, &dg, &len); i++)
		one_datagram(dg, len, cap, &relayed);
	shard_table_close(&ctx.table);
	return 0;
}
