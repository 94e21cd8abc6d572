/*
 * worker.c - one fast-path worker thread per shard.
 *
 * Owns: the loop (commands from the controller first, then at most
 * WORKER_HANDOFF_DRAIN_MAX handoffs from other workers, then a batch of
 * datagrams from the io layer, then timers), the
 * classification of every datagram, and its defined outcome: relayed,
 * answered (200 to a CANCEL and to a NOTIFY of our REFER, 400, 403, 422, 481, 483,
 * 491, 500, 503, 505, 513; an ACK to a re-INVITE's final that comes after
 * its call ended), handed to the controller or to the
 * owning worker, or dropped on purpose and counted; the lookup of the dialog
 * an INVITE's Replaces or Join names (RFC 3891, 3911), on the worker that
 * holds it, for the controller (only INVITEs without To-tag that carry such a
 * header take that path: in-dialog traffic pays nothing for it); the ends of calls on its
 * own account (idle, maximum duration, session timer, the in-dialog
 * keep-alive's rounds and answers, and the OPTIONS again with the route's
 * credentials when a callee challenges one, whose final counts as the
 * first's would; whatever ends a call, the 487s to the
 * requests still open in it, relay_end_pending, which answers their
 * retransmissions too, a re-INVITE's resent on the timer tick until its
 * ACK: relay_resent_tick), and the Timer N of the operator's
 * transfer (no NOTIFY within 64*T1 of its REFER's 2xx), and its copy of the
 * routes' credentials (DMSG_CREDS; orig.h says why a copy). Does not own: the rewrite
 * rules (relay.c), call setup (controller.c), sockets' creation (daemon.c).
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/counter.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "net/udp.h"
#include "steer/steer.h"

/* Sends bytes already written in a tx buffer; false when the io refused them. */
static bool send_tx(struct worker *w, char *buf, int len, const struct sockaddr *to,
		    socklen_t tolen)
{
	if (net_tx_queue(w->io, buf, (uint32_t)len, to, tolen) != 0)
		return false;
	counter_inc(&w->st.sent);
	return true;
}

/* Hands a datagram to the controller with m, the worker's parse of it, built
 * in the ring's slot: the controller takes the parse over instead of parsing
 * the datagram again (a parse that does not fit beside it is left out, and the
 * controller parses). A full ring (-ENOBUFS) is answered 503 by the caller
 * (the controller is overloaded: shed new work cheaply). home: the worker
 * that owns the datagram's Call-ID (this one but for an INVITE with Replaces
 * or Join handed here); replaced: the packed session that goes with such an
 * INVITE, or NULL. A datagram of up to DMSG_DATA_MAX bytes always fits a
 * slot alone; with a packed session it may not (-EMSGSIZE): that is the
 * message's size, not the controller's load, and the caller answers it as
 * too large. */
static int to_controller_for(struct worker *w, const struct sip_msg *m, const char *data,
			     uint32_t len, const struct sockaddr *peer, socklen_t peer_len,
			     unsigned home, const char *replaced, uint32_t replaced_len)
{
	struct dmsg_hdr h = {.type = DMSG_DATAGRAM,
			     .len = len,
			     .home = home != w->id ? home + 1 : 0,
			     .replaced_len = replaced_len};
	if (sizeof(h) + len + replaced_len > w->evt->slot_size)
		return -EMSGSIZE;
	char *slot = ring_reserve(w->evt);
	if (!slot) {
		counter_inc(&w->st.ctl_ring_full);
		return -ENOBUFS;
	}
	dmsg_set_peer(&h, peer, peer_len);
	char *payload = slot + sizeof(h);
	memcpy(payload, data, len);
	if (replaced_len)
		memcpy(payload + len, replaced, replaced_len);
	len += replaced_len;
	int n = sip_msg_pack(m, payload + len, w->evt->slot_size - sizeof(h) - len);
	h.parsed_len = n > 0 ? (uint32_t)n : 0;
	memcpy(slot, &h, sizeof(h));
	ring_commit(w->evt);
	counter_inc(&w->st.to_controller);
	w->evt_pushed = true;
	return 0;
}

static int to_controller(struct worker *w, const struct sip_msg *m, const char *data, uint32_t len,
			 const struct sockaddr *peer, socklen_t peer_len)
{
	return to_controller_for(w, m, data, len, peer, peer_len, w->id, NULL, 0);
}

/* The earlier of two deadlines, 0 standing for none. */
static uint64_t earlier(uint64_t a, uint64_t b)
{
	return !a || (b && b < a) ? b : a;
}

static uint64_t max_duration_deadline(const struct worker *w, const struct shard_dialog *d)
{
	uint64_t max = w->d->cfg->timers.dialog_max_s * 1000ull;
	return max ? d->created_ms + max : 0;
}

static uint64_t session_deadline(const struct worker *w, const struct shard_dialog *d)
{
	return w->d->cfg->timers.session_timer ? shard_session_deadline(d) : 0;
}

/* The earliest of the deadlines that end the dialog: idle, maximum duration
 * and session timer; 0 when none applies. */
static uint64_t end_deadline(const struct worker *w, const struct shard_dialog *d)
{
	uint64_t idle = w->d->cfg->timers.dialog_idle_s * 1000ull;
	uint64_t a = idle ? d->last_activity_ms + idle : 0;
	return earlier(earlier(a, max_duration_deadline(w, d)), session_deadline(w, d));
}

static uint64_t keepalive_every_ms(const struct worker *w)
{
	return w->d->cfg->timers.dialog_keepalive_s * 1000ull;
}

static uint64_t keepalive_deadline(const struct worker *w, const struct shard_dialog *d)
{
	return shard_keepalive_deadline(d, keepalive_every_ms(w));
}

/* Timer N of the operator's transfer (RFC 6665 4.1.2.4): 64*T1 after the
 * REFER's 2xx, while no NOTIFY came; 0 when it does not run. */
static uint64_t transfer_deadline(const struct worker *w, const struct shard_dialog *d)
{
	return shard_refer_deadline(d, w->relay.now_ms, 64ull * w->d->cfg->timers.t1_ms);
}

/* When the dialog's timer must fire: its end, its next keep-alive round, or
 * its transfer's Timer N. */
static uint64_t dialog_deadline(const struct worker *w, const struct shard_dialog *d)
{
	return earlier(earlier(end_deadline(w, d), keepalive_deadline(w, d)),
		       transfer_deadline(w, d));
}

static void arm_dialog(struct worker *w, struct shard_dialog *d)
{
	uint64_t when = dialog_deadline(w, d);
	d->timer = 0;
	if (when)
		wheel_add(&w->wheel, when, (uint64_t)d->slot << 32 | d->gen, &d->timer);
}

/* The dialog's deadline may have come nearer (a session timer started): the
 * timer armed for a later one is put back. */
static void arm_dialog_again(struct worker *w, struct shard_dialog *d)
{
	if (d->timer)
		wheel_cancel(&w->wheel, d->timer);
	arm_dialog(w, d);
}

void worker_reattach(struct worker *w, uint64_t now)
{
	struct shard_table *t = &w->table;

	w->relay.now_ms = now; /* a transfer's Timer N is read against it */
	for (uint32_t i = 0; i < t->hdr->dlg_hwm; i++) {
		struct shard_dialog *dl = &t->dialogs[i];
		if (dl->state == SHARD_DLG_FREE)
			continue;
		/* an early dialog lives on only with its call's set-up record */
		if (!ctl_keeps_dialog(w->d->ctl, w->id, dl)) {
			shard_dialog_free(t, i);
			counter_inc(&w->st.setups_dropped);
			continue;
		}
		/* CLOCK_MONOTONIC restarts at boot: a file kept across one holds
		 * times from another clock, which would put deadlines far off */
		if (dl->created_ms > now)
			dl->created_ms = now;
		if (dl->last_activity_ms > now)
			dl->last_activity_ms = now;
		arm_dialog(w, dl);
		if (dl->state == SHARD_DLG_CONFIRMED)
			counter_inc(&w->st.dialogs_reattached);
	}
}

/* d ends: the requests of each leg still waiting for their finals are
 * answered here (relay_end_pending), to where each came from (the leg's
 * peer, or the address its transaction kept). One whose answer
 * finds no send buffer, or does not fit one, is lost as on the wire
 * (tx_no_buffer, drops.no_buffer), but its final is kept all the same:
 * its retransmission gets it (ended[]), and a re-INVITE's 487 goes at the
 * next tick (the relay's resent[], Timer G: relay_resent_tick). */
static void end_pending(struct worker *w, struct shard_dialog *d)
{
	/* once the pool has none, asking again would only repeat the
	 * pool-empty flush (net_tx_alloc) for each request left */
	bool dry = false;

	for (int leg = SHARD_LEG_A; leg <= SHARD_LEG_B; leg++) {
		for (int i = 0; i < RELAY_PENDING_MAX; i++) {
			char *out = dry ? NULL : net_tx_alloc(w->io);
			dry = !out;
			struct sockaddr_in6 to;
			socklen_t to_len = 0;
			int n = relay_end_pending(&w->relay, d, leg, out, w->d->cfg->tx_buffer_size,
						  &to, &to_len);
			if (n <= 0 && out)
				net_tx_release(w->io, out);
			if (n == 0)
				break;
			if (n > 0)
				send_tx(w, out, n, (const struct sockaddr *)&to, to_len);
			else if (out)
				counter_inc(&w->relay.drops[RELAY_DROP_NO_BUFFER]);
			else
				counter_inc(&w->st.tx_no_buffer);
		}
	}
}

/* The final status of what the operator sent into d (or
 * DLG_SENT_CALL_ENDED), for the management command that may be waiting for
 * it; with the ring full it waits out its time and still lists the status
 * kept on the dialog. */
static void tell_sent_final(struct worker *w, const struct shard_dialog *d, int status)
{
	struct dmsg_hdr h = {
	    .type = DMSG_SENT_FINAL, .slot = d->slot, .gen = d->gen, .reason = (uint32_t)status};
	if (ring_push(w->evt, &h, sizeof(h), NULL, 0) == 0)
		w->evt_pushed = true;
}

/* Frees a dialog the worker holds: its timer first, then the slot; requests
 * still open in it get their answers first; every request of ours in it but
 * a BYE is resent no more (orig_end_dialog: the operator's, an earlier one
 * of the operator's still open, the keep-alive's OPTIONS again with
 * credentials), and a management command waiting for the final of the
 * operator's request in it hears that the call ended (no final will be kept
 * on it now). */
static void free_dialog(struct worker *w, uint32_t slot, uint32_t gen)
{
	struct shard_dialog *d = shard_dialog_get(&w->table, slot, gen);
	if (!d)
		return;
	end_pending(w, d);
	/* not resent into a call that is over */
	orig_end_dialog(&w->orig, slot, gen);
	if (d->sent_method && !d->sent_status)
		tell_sent_final(w, d, DLG_SENT_CALL_ENDED);
	if (d->timer)
		wheel_cancel(&w->wheel, d->timer);
	shard_dialog_free(&w->table, slot);
}

/* A notice about a dialog to the controller, which must not be lost while
 * the daemon runs: a full ring empties as the controller drains it (4096
 * slots: many calls ending in one tick fill it); once the daemon stops, the
 * controller is gone and never will, so the notice is lost as in a kill,
 * which the next start handles (the record is free, or kept, already). */
static void tell_controller(struct worker *w, const struct dmsg_hdr *h)
{
	while (ring_push(w->evt, h, sizeof(*h), NULL, 0) != 0) {
		if (atomic_load_explicit(&w->d->stop, memory_order_relaxed))
			return;
		sched_yield();
	}
	w->evt_pushed = true;
}

static void tell_dialog_ended(struct worker *w, uint32_t slot, uint32_t next_gen,
			      enum ctl_end_reason why)
{
	struct dmsg_hdr h = {
	    .type = DMSG_DIALOG_ENDED, .slot = slot, .gen = next_gen, .reason = (uint32_t)why};

	counter_inc(&w->st.dialogs_ended);
	tell_controller(w, &h);
}

/* True when the answer went to the send queue; otherwise the datagram is
 * counted as dropped here (tx_no_buffer, or no_buffer for an answer larger
 * than tx_buffer_size: the request's Via, From and To lines are copied). */
static bool answer_here(struct worker *w, const struct sip_msg *m, int status, const char *reason,
			const struct sockaddr *peer, socklen_t peer_len)
{
	char *out = net_tx_alloc(w->io);
	if (!out) {
		counter_inc(&w->st.tx_no_buffer);
		return false;
	}
	int n = sip_respond_from(m, status, reason, "sipshard-sl", NULL, peer, peer_len, out,
				 w->d->cfg->tx_buffer_size);
	if (n > 0)
		return send_tx(w, out, n, peer, peer_len);
	net_tx_release(w->io, out);
	counter_inc(&w->relay.drops[RELAY_DROP_NO_BUFFER]);
	return false;
}

/* Sends a copy of bytes held elsewhere; without a send buffer it is lost like
 * a datagram on the wire (counted), and the sender's retransmission covers it.
 * True when it was queued. */
static bool send_copy(struct worker *w, const char *buf, size_t len, const struct sockaddr *dst,
		      socklen_t dst_len)
{
	char *out = net_tx_alloc(w->io);

	if (!out || len > w->d->cfg->tx_buffer_size) {
		counter_inc(&w->st.tx_no_buffer);
		if (out)
			net_tx_release(w->io, out);
		return false;
	}
	memcpy(out, buf, len);
	return send_tx(w, out, (int)len, dst, dst_len);
}

/* A datagram the controller sends through this worker once the commands
 * before it are applied (DMSG_SEND: the 2xx that lets the caller use its
 * dialog). It may be up to DMSG_DATA_MAX bytes (the controller sends a larger
 * one itself) while the send buffers are tx_buffer_size (1500 at least): one
 * larger (a 2xx with video or ICE lines) leaves at once with a sendto after
 * what is queued (net_tx_send_now), or not at all while some of that waits
 * for room, which it would pass, or the send buffer is full: it is put off,
 * not sent (ctl_send_deferred), as the controller puts off a 2xx it cannot
 * send in order (answers_deferred), and the callee's retransmission of it
 * (RFC 3261 13.3.1.4, until the caller's ACK) comes through again. Before,
 * that sendto passed the sends waiting, and a full buffer dropped it as
 * tx_no_buffer, a reason it does not have. One the kernel refuses is counted
 * as any send it refuses (the io's tx_errors: drops.send_refused). */
static bool send_for_controller(struct worker *w, const char *buf, size_t len,
				const struct sockaddr *dst, socklen_t dst_len)
{
	if (len <= w->d->cfg->tx_buffer_size)
		return send_copy(w, buf, len, dst, dst_len);
	int rc = net_tx_send_now(w->io, buf, len, dst, dst_len);
	if (rc == -EAGAIN || rc == -ENOBUFS) {
		counter_inc(&w->st.ctl_send_deferred);
		return false;
	}
	if (rc != -EAFNOSUPPORT)
		counter_inc(&w->st.sent); /* one the kernel refused too, as the io's sends */
	return rc == 0;
}

/* orig_send_fn: a request of ours, first sent or retransmitted (Timer E);
 * relay_send_fn: a 487 of ours to a re-INVITE, resent (Timer G). */
static void send_orig(void *arg, const char *buf, size_t len, const struct sockaddr *dst,
		      socklen_t dst_len)
{
	(void)send_copy(arg, buf, len, dst, dst_len);
}

/* Which dialog, and which of its requests, an answer to a request of ours is
 * for: generation, the low byte of sent_seq, slot (below 2^24, the capacity
 * limit). 0 for a request whose answer nobody keeps (a BYE: the dialog is
 * freed at once). */
static uint64_t sent_cookie(const struct shard_dialog *d)
{
	return (uint64_t)d->gen << 32 | (uint64_t)(d->sent_seq & 0xff) << 24 | d->slot;
}

static void keepalive_retry_done(struct worker *w, uint64_t cookie, int status, bool heard);
static void call_gone(struct worker *w, struct shard_dialog *d, int by_leg, int status);

/* orig_done_fn: the final status of a request of ours, kept on its dialog
 * when the dialog is still there and sent nothing newer since; the
 * keep-alive's OPTIONS again with credentials (the only OPTIONS among them:
 * the operator sends INFO, MESSAGE and REFER) has its own outcome. A REFER's
 * outcome is also its transfer's (the REFER named by leg and CSeq), even
 * when the operator sent an INFO or MESSAGE into the call meanwhile (a
 * `refer --wait 0`, or a final later than the wait): else a refused REFER
 * left the transfer active and an accepted one never started Timer N, for
 * the rest of the call, and that side's NOTIFYs without id were taken. A 2xx
 * to a REFER, a target refresh, makes its Contact the leg's remote target
 * (RFC 3261 12.2.1.2), as the 2xx to a relayed one does in relay.c: else the
 * next request to that side went where it no longer is. A 408 or 481 that
 * side sent to an INFO or MESSAGE of the operator's says its dialog is gone
 * (12.2.1.2): the call ends as when a relayed request is so answered
 * (call_gone); it stayed up until dialog_idle_s. Silence (Timer F, or a slot
 * given up: resp NULL) ends nothing, as for a relayed request; a REFER's
 * final ends its subscription alone (RFC 5057 5.1), as above. */
static void orig_done(void *arg, uint64_t cookie, uint8_t method, uint8_t leg, uint32_t cseq,
		      int status, const struct sip_msg *resp)
{
	struct worker *w = arg;

	if (!cookie)
		return;
	if (method == SIP_METHOD_OPTIONS) {
		keepalive_retry_done(w, cookie, status, resp != NULL);
		return;
	}
	struct shard_dialog *d =
	    shard_dialog_get(&w->table, (uint32_t)cookie & 0xffffff, (uint32_t)(cookie >> 32));
	if (!d)
		return;
	if (resp && status >= 200 && status < 300 && leg <= SHARD_LEG_B &&
	    relay_is_target_refresh(method))
		relay_take_remote_target(&w->relay, d, leg, resp);
	if (method == SIP_METHOD_REFER && (d->refer & SHARD_REFER_STATE) == SHARD_REFER_ACTIVE &&
	    d->refer_cseq == cseq && !!(d->refer & SHARD_REFER_LEG_B) == (leg == SHARD_LEG_B)) {
		/* a refused REFER made no subscription: no NOTIFY is ours to take;
		 * an accepted one starts Timer N, within which a NOTIFY must come */
		if (status >= 300) {
			shard_refer_set(d, SHARD_REFER_DONE);
		} else if (status >= 200) {
			w->relay.now_ms = clock_mono_ms();
			shard_refer_accepted(d, w->relay.now_ms);
			arm_dialog_again(w, d);
		}
	}
	if (d->sent_method == method && (d->sent_seq & 0xff) == ((cookie >> 24) & 0xff)) {
		d->sent_status = (uint16_t)status;
		tell_sent_final(w, d, status);
	}
	if (resp && (status == 408 || status == 481) && leg <= SHARD_LEG_B &&
	    (method == SIP_METHOD_INFO || method == SIP_METHOD_MESSAGE) &&
	    d->state == SHARD_DLG_CONFIRMED)
		call_gone(w, d, leg, status);
}

/* orig_cseq_fn: a retry with credentials takes the leg's next CSeq while
 * the dialog lives, so that no later request of ours or relayed one reuses
 * it (relay.c numbers leg B's from local_cseq too); a BYE's dialog is gone. */
static uint32_t orig_next_cseq(void *arg, const struct orig_dlg *dlg, uint32_t challenged)
{
	struct worker *w = arg;
	struct shard_dialog *d = shard_dialog_get(&w->table, dlg->slot, dlg->gen);

	if (!d || dlg->leg > SHARD_LEG_B)
		return challenged + 1;
	struct sip_session *s = &d->legs[dlg->leg];
	if (s->local_cseq < challenged)
		s->local_cseq = challenged;
	uint32_t next = ++s->local_cseq;
	/* the operator's REFER, sent again: its subscription's NOTIFYs name
	 * the CSeq that was accepted (RFC 3515 2.4.6) */
	if ((d->refer & SHARD_REFER_STATE) == SHARD_REFER_ACTIVE && d->refer_cseq == challenged &&
	    !!(d->refer & SHARD_REFER_LEG_B) == (dlg->leg == SHARD_LEG_B))
		d->refer_cseq = next;
	return next;
}

/* The dialog and credentials a request of ours on leg of d goes with: the
 * route's (d->auth_key) on leg B, the callee side, only. */
static struct orig_dlg orig_dlg_of(const struct shard_dialog *d, int leg)
{
	return (struct orig_dlg){.slot = d->slot,
				 .gen = d->gen,
				 .leg = (uint8_t)leg,
				 .auth_key = leg == SHARD_LEG_B ? d->auth_key : 0};
}

/* Sends req on one leg of d (the session's bye(), info(), message()), with the
 * cookie its outcome comes back with; false when it does not fit a datagram,
 * which is logged. */
static bool send_on_leg(struct worker *w, struct shard_dialog *d, int leg,
			const struct relay_req *req, uint64_t cookie)
{
	const struct orig_dlg dlg = orig_dlg_of(d, leg);
	char scratch[ORIG_KEEP_MAX];
	/* written to fit a send buffer too: one larger than tx_buffer_size
	 * would be dropped by send_copy at every transmission, while the
	 * transaction counted it sent and retransmitted until Timer F */
	size_t cap = w->d->cfg->tx_buffer_size < sizeof(scratch) ? w->d->cfg->tx_buffer_size
								 : sizeof(scratch);

	if (orig_start(&w->orig, &w->relay, &d->legs[leg], req, &dlg, cookie, w->relay.now_ms,
		       scratch, cap, send_orig, orig_done, w) == 0)
		return true;
	log_warn("worker %u: dialog %u: %s for leg %c does not fit %zu bytes "
		 "(tx_buffer_size %u); not sent",
		 w->id, d->slot, sip_method_name((enum sip_method)req->method),
		 leg == SHARD_LEG_A ? 'A' : 'B', cap, (unsigned)w->d->cfg->tx_buffer_size);
	return false;
}

/* Policy or the operator ends a call (the session's bye()): a BYE on each
 * leg, with reason as its Reason header value. Only a confirmed dialog has
 * legs a BYE may be sent on. */
static void end_call(struct worker *w, struct shard_dialog *d, const char *reason)
{
	char extra[128];
	struct relay_req req = {.method = SIP_METHOD_BYE, .extra = extra};

	if (d->state != SHARD_DLG_CONFIRMED)
		return;
	/* a side whose re-INVITE is open learns its fate before the BYE */
	end_pending(w, d);
	snprintf(extra, sizeof(extra), "Reason: %s\r\n", reason);
	send_on_leg(w, d, SHARD_LEG_A, &req, 0);
	send_on_leg(w, d, SHARD_LEG_B, &req, 0);
}

/* Ends a call on the worker's own account: a BYE to each side with reason,
 * the slot freed, the controller told why (its CDR). */
static void end_dialog(struct worker *w, struct shard_dialog *d, enum ctl_end_reason why,
		       const char *reason)
{
	uint32_t slot = d->slot, gen = d->gen;

	end_call(w, d, reason);
	free_dialog(w, slot, gen);
	tell_dialog_ended(w, slot, gen + 1, why);
}

/* The call's own early dialog d (the first fork's) ended by a BYE while
 * another fork of leg B rings in an early dialog of its own: freed, the
 * call would have no slot for that fork's 2xx to confirm, which then
 * reached the caller with no dialog behind it. The slot stays the call's
 * with the first fork's tags emptied (shard_dialog_retire_first_fork); what
 * was open in it is answered and no longer resent, as at a free, and the
 * controller is told, so that the first fork's own 2xx is ended, not
 * relayed. The controller releases the slot when the call ends unanswered. */
static void keep_for_forks(struct worker *w, struct shard_dialog *d)
{
	struct dmsg_hdr h = {.type = DMSG_FIRST_FORK_ENDED, .slot = d->slot, .gen = d->gen};

	end_pending(w, d);
	orig_end_dialog(&w->orig, d->slot, d->gen);
	shard_dialog_retire_first_fork(d);
	tell_controller(w, &h);
}

/* A BYE ended a dialog (relay_result.dialog_ended): its slot is freed and
 * the controller told who hung up. */
static void ended_by_bye(struct worker *w, const struct relay_result *res)
{
	if (res->bye_other_leg) {
		/* the BYE was answered here: the other leg is ended by ours */
		struct shard_dialog *d =
		    shard_dialog_get(&w->table, res->ended_slot, res->ended_gen);
		struct relay_req bye = {.method = SIP_METHOD_BYE};
		if (d)
			send_on_leg(w, d, !res->ended_by_leg, &bye, 0);
	}
	struct shard_dialog *d = shard_dialog_get(&w->table, res->ended_slot, res->ended_gen);
	if (d && d->state == SHARD_DLG_EARLY && shard_dialog_has_forks(&w->table, d->slot)) {
		keep_for_forks(w, d);
		return;
	}
	free_dialog(w, res->ended_slot, res->ended_gen);
	tell_dialog_ended(w, res->ended_slot, res->ended_gen + 1,
			  res->ended_by_leg == SHARD_LEG_A ? CTL_END_BYE_CALLER
							   : CTL_END_BYE_CALLEE);
}

/* ---- in-dialog keep-alive (timers.dialog_keepalive_s; shard/table.h) ---- */

/* An OPTIONS on one leg, sent once: the next round is its retransmission.
 * Its branch leads the answer back to the dialog and the leg. */
static void send_keepalive(struct worker *w, struct shard_dialog *d, int leg)
{
	struct sip_session *s = &d->legs[leg];
	struct relay_req req = {.method = SIP_METHOD_OPTIONS};
	char branch[SHARD_KEEPALIVE_MAX];
	char *out = net_tx_alloc(w->io);

	/* an OPTIONS that cannot go (no send buffer; or longer than
	 * tx_buffer_size, possible below 2 KiB with the longest URIs and route
	 * set, as for a BYE of ours) is lost as on the wire: a round missed */
	if (!out) {
		counter_inc(&w->st.tx_no_buffer);
		return;
	}
	shard_keepalive_encode(branch, sizeof(branch), (uint8_t)w->id, d->slot, d->gen, leg,
			       s->local_cseq + 1);
	int n = relay_write_request(&w->relay, s, &req, branch, out, w->d->cfg->tx_buffer_size);
	if (n < 0) {
		net_tx_release(w->io, out);
		counter_inc(&w->st.tx_no_buffer);
		return;
	}
	if (send_tx(w, out, n, (const struct sockaddr *)&s->peer, s->peer_len))
		counter_inc(&w->st.keepalives_sent);
}

static void keepalive_failed(struct worker *w, struct shard_dialog *d, const char *reason)
{
	counter_inc(&w->st.dialogs_keepalive_failed);
	end_dialog(w, d, CTL_END_KEEPALIVE, reason);
}

/* A final status to a keep-alive OPTIONS on leg of d, or to the OPTIONS
 * again with credentials: 408 or 481 says the leg's dialog is gone (RFC 3261
 * 12.2.1.2): the call ends; any other says the leg is there. */
static void keepalive_final(struct worker *w, struct shard_dialog *d, int leg, int status)
{
	if (status == 408 || status == 481) {
		char reason[96];
		/* Q.850 cause 41: temporary failure */
		snprintf(reason, sizeof(reason), "Q.850;cause=41;text=\"keep-alive answered %d\"",
			 status);
		keepalive_failed(w, d, reason);
		return;
	}
	counter_inc(&w->st.keepalives_answered);
	shard_keepalive_answered(d, leg, clock_mono_ms());
}

/* Whether a BYE of either side of d waits for its final: the call is
 * ending, and that final, or its transaction's timeout, ends it. Nothing of
 * sipshard's own goes into it meanwhile (call_gone, the operator's
 * requests, the dialog's timers): such a BYE or OPTIONS went into a dialog
 * its side had ended, and the CDR took its reason for the side's. */
static bool call_ending(struct worker *w, const struct shard_dialog *d)
{
	return shard_txn_open_bye(&w->table, d, SHARD_LEG_A) ||
	       shard_txn_open_bye(&w->table, d, SHARD_LEG_B);
}

/* The side of leg by_leg answered a request in confirmed call d 408 or 481:
 * its dialog is gone, and the call ends as for a keep-alive so answered, a
 * BYE to each side. Not while a BYE of a side waits for its final: the call
 * is ending already, and that final ends it (no BYE of sipshard's into a
 * dialog its side has ended, and the CDR keeps who hung up, as for the
 * dialog's timers: on_dialog_timer). */
static void call_gone(struct worker *w, struct shard_dialog *d, int by_leg, int status)
{
	char reason[96];

	if (call_ending(w, d))
		return;
	counter_inc(&w->st.dialogs_gone);
	/* Q.850 cause 41: temporary failure */
	snprintf(reason, sizeof(reason), "Q.850;cause=41;text=\"%s answered %d\"",
		 by_leg == SHARD_LEG_A ? "caller" : "callee", status);
	end_dialog(w, d, CTL_END_DIALOG_GONE, reason);
}

/* A side answered a request relayed in a confirmed call 408 or 481
 * (relay_result.gone_status): call_gone. */
static void dialog_gone(struct worker *w, const struct relay_result *res)
{
	struct shard_dialog *d = shard_dialog_get(&w->table, res->ended_slot, res->ended_gen);

	if (d)
		call_gone(w, d, res->ended_by_leg, res->gone_status);
}

/* A round is due: a leg that left misses_max rounds in a row unanswered ends
 * the call; otherwise each leg gets its OPTIONS. */
static void keepalive_round(struct worker *w, struct shard_dialog *d)
{
	if (shard_keepalive_round(d, w->d->cfg->timers.dialog_keepalive_misses, w->relay.now_ms,
				  keepalive_every_ms(w), &w->st.keepalives_missed)) {
		/* Q.850 cause 102: recovery on timer expiry */
		keepalive_failed(w, d, "Q.850;cause=102;text=\"keep-alive not answered\"");
		return;
	}
	send_keepalive(w, d, SHARD_LEG_A);
	send_keepalive(w, d, SHARD_LEG_B);
	arm_dialog(w, d);
}

/* The cookie the OPTIONS again with credentials on leg of d comes back
 * with: as sent_cookie, the leg in place of sent_seq's byte (orig_done knows
 * it by its method). */
static uint64_t keepalive_cookie(const struct shard_dialog *d, int leg)
{
	return (uint64_t)d->gen << 32 | (uint64_t)leg << 24 | d->slot;
}

/* The final of the OPTIONS again with credentials counts as one to the
 * OPTIONS it answers for would: behind a proxy that challenges every
 * OPTIONS, it is the only answer from the leg's side. Timer F or a slot
 * given up (no response heard) makes its round one the leg left unanswered:
 * a proxy that challenges each round's OPTIONS while the phone behind it is
 * gone would otherwise keep the call up for good. */
static void keepalive_retry_done(struct worker *w, uint64_t cookie, int status, bool heard)
{
	int leg = (int)((cookie >> 24) & 0xff);
	struct shard_dialog *d =
	    shard_dialog_get(&w->table, (uint32_t)cookie & 0xffffff, (uint32_t)(cookie >> 32));

	if (!d || leg > SHARD_LEG_B || d->state != SHARD_DLG_CONFIRMED)
		return;
	if (!heard) {
		counter_inc(&w->st.keepalives_missed);
		shard_keepalive_retry_lost(d, leg);
		return;
	}
	keepalive_final(w, d, leg, status);
}

/* A 401 or 407 to a keep-alive OPTIONS: the leg's side is there, but a
 * carrier that challenges it may count an unanswered challenge against the
 * call, so on leg B the OPTIONS goes again with the route's credentials, as a
 * transaction of ours (orig.h) whose final counts as one to the first would
 * (keepalive_retry_done). Returns 0 when it went; otherwise (no credentials,
 * as on leg A, or none that fit) the challenge is the leg's answer. */
static int keepalive_challenged(struct worker *w, struct shard_dialog *d, int leg,
				const struct sip_msg *m)
{
	char scratch[ORIG_KEEP_MAX];
	const struct relay_req req = {.method = SIP_METHOD_OPTIONS};
	const struct orig_dlg dlg = orig_dlg_of(d, leg);
	size_t cap = w->d->cfg->tx_buffer_size < sizeof(scratch) ? w->d->cfg->tx_buffer_size
								 : sizeof(scratch);

	return orig_start_answering(&w->orig, &w->relay, &d->legs[leg], &req, &dlg, m,
				    keepalive_cookie(d, leg), clock_mono_ms(), scratch, cap,
				    send_orig, orig_done, w);
}

/* A response whose top Via branch has the keep-alive's prefix: it ends here
 * (keepalive_final). A round's OPTIONS is answered once, while the round
 * waits for it: a copy of its final (or of a challenge answered already)
 * finds the round over and is counted as a retransmission, not as another
 * OPTIONS answered. */
static void keepalive_answered(struct worker *w, const struct sip_msg *m)
{
	int leg;
	struct shard_dialog *d = shard_keepalive_match(&w->table, (uint8_t)w->id, m, &leg);

	if (!d) {
		counter_inc(&w->st.keepalives_stray);
		return;
	}
	if (m->status < 200) {
		counter_inc(&w->st.keepalives_provisional);
		return;
	}
	if (!(d->legs[leg].keepalive & SESSION_KEEPALIVE_PENDING)) {
		counter_inc(&w->st.keepalives_retransmitted);
		return;
	}
	if ((m->status == 401 || m->status == 407) && keepalive_challenged(w, d, leg, m) == 0) {
		shard_keepalive_challenged(d, leg); /* the OPTIONS again answers */
		return;
	}
	keepalive_final(w, d, leg, m->status);
}

/* Passes a datagram to the worker that owns its Call-ID (invariant 1), or an
 * INVITE with Replaces or Join to the worker that holds the dialog named
 * (home: 1 + this worker, which owns the INVITE's Call-ID; 0 otherwise); a
 * full ring, or a datagram too big for one, is a counted drop. */
static void hand_to(struct worker *w, unsigned owner, const char *data, uint32_t len,
		    const struct sockaddr *peer, socklen_t peer_len, uint32_t home)
{
	struct dmsg_hdr h = {.type = DMSG_DATAGRAM, .len = len, .home = home};
	dmsg_set_peer(&h, peer, peer_len);
	if (len > DMSG_DATA_MAX ||
	    ring_push(w->d->workers[owner].handoff_in[w->id], &h, sizeof(h), data, len) != 0)
		counter_inc(&w->st.handoff_drop);
	else if (w->d->bpf_steering)
		w->handed_to |= 1ull << owner; /* it waits 10 ms for datagrams: wake it */
}

/* Wakes the workers this batch handed a datagram to (hand_to). */
static void wake_handed(struct worker *w)
{
	for (uint64_t m = w->handed_to; m; m &= m - 1) {
		uint64_t one = 1;
		if (write(w->d->workers[__builtin_ctzll(m)].wake_fd, &one, sizeof(one)) < 0)
			(void)0; /* it also polls on a timeout */
	}
	w->handed_to = 0;
}

/* ---- INVITE with Replaces or Join (RFC 3891, 3911) ---------------------------
 * A new call that names a dialog sipshard holds, by one of its legs (X) as
 * its party knows it, is meant for the party of the other leg (Y): sipshard
 * is not the party the header names. The worker that holds the dialog (the
 * owner of its Call-ID's bucket, which is rarely the owner of the INVITE's)
 * looks it up and hands the INVITE to the controller with leg Y, packed; the
 * controller sends the new call to Y's party with the header naming Y's
 * dialog. The INVITE goes there as a handoff flagged with its home (the
 * worker that owns its own Call-ID, where the controller places the new
 * call), and from there to the controller: a retransmission takes the same
 * path, and the controller finds the call by its Call-ID and From tag as
 * usual. */

/* The leg of d that ref names as its party knows it (RFC 3891 3: the to-tag
 * is compared to our local tag, the from-tag to the remote tag), or -1. */
static int leg_named(const struct shard_dialog *d, const char *buf,
		     const struct sip_dialog_ref *ref)
{
	for (int i = SHARD_LEG_A; i <= SHARD_LEG_B; i++) {
		const struct sip_session *s = &d->legs[i];
		if (sip_view_eq(buf, ref->call_id, s->call_id, s->call_id_len) &&
		    sip_view_eq(buf, ref->to_tag, s->local_tag, s->local_tag_len) &&
		    sip_view_eq(buf, ref->from_tag, s->remote_tag, s->remote_tag_len))
			return i;
	}
	return -1;
}

static void answer_replacing(struct worker *w, const struct sip_msg *m, int status,
			     const char *reason, const struct sockaddr *peer, socklen_t peer_len)
{
	counter_inc(&w->st.replaces_refused);
	(void)answer_here(w, m, status, reason, peer, peer_len);
}

/* An INVITE without To-tag with a Replaces or Join header (m parsed from
 * data), on the worker home (the owner of its Call-ID) or handed from there. */
static void replacing_invite(struct worker *w, const struct sip_msg *m, const char *data,
			     uint32_t len, const struct sockaddr *peer, socklen_t peer_len,
			     unsigned home)
{
	const struct sip_hdr_line *h = sip_find_hdr(m, SIP_HDR_REPLACES);
	bool join = !h;
	struct sip_dialog_ref ref;

	/* RFC 3891 3 and RFC 3911 3: one such header, never both */
	if (sip_hdr_lines(m, SIP_HDR_REPLACES) + sip_hdr_lines(m, SIP_HDR_JOIN) > 1) {
		answer_replacing(w, m, 400, "Bad Request (more than one Replaces or Join)", peer,
				 peer_len);
		return;
	}
	if (join)
		h = sip_find_hdr(m, SIP_HDR_JOIN);
	if (sip_dialog_ref_parse(m->buf, h->value, &ref) != 0)
		goto unchanged;
	unsigned owner = w->d->nworkers > 1 ? w->d->bucket_owner[shard_bucket_of(shard_hash_callid(
						  m->buf + ref.call_id.off, ref.call_id.len))]
					    : w->id;
	if (owner != w->id && home == w->id) {
		counter_inc(&w->st.replaces_handed);
		hand_to(w, owner, data, len, peer, peer_len, home + 1);
		return;
	}
	uint8_t shard;
	uint32_t slot, gen;
	struct shard_dialog *d = NULL;
	if (shard_tag_decode(m->buf + ref.to_tag.off, ref.to_tag.len, &shard, &slot, &gen) == 0 &&
	    shard == w->id)
		d = shard_dialog_get(&w->table, slot, gen);
	int x = d && (d->state == SHARD_DLG_EARLY || d->state == SHARD_DLG_CONFIRMED)
		    ? leg_named(d, m->buf, &ref)
		    : -1;
	if (x < 0 && d && d->state == SHARD_DLG_EARLY) {
		/* the early dialog of another fork than the first, in a slot of
		 * its own, as relay_request finds it: named by the caller's side
		 * (to-tag the fork's tag toward the caller) or by the callee's
		 * (to-tag leg B's From tag, one for every fork, naming the
		 * call's slot; from-tag the fork's). Only the first fork's was
		 * found: a pickup of another ringing fork went on as a new call
		 * with the header unchanged, the caller's Call-ID and tags in it */
		struct shard_dialog *f =
		    shard_dialog_of_fork_tag(&w->table, m->buf + ref.to_tag.off, ref.to_tag.len);
		if (!f)
			f = shard_dialog_of_fork_callee(&w->table, d, m->buf + ref.from_tag.off,
							ref.from_tag.len);
		x = f ? leg_named(f, m->buf, &ref) : -1;
		if (x >= 0)
			d = f;
	}
	if (x < 0)
		goto unchanged;
	/* RFC 3891 3: an early dialog is replaced only at the UA that
	 * initiated it; of an early call sipshard initiated leg B alone (leg A's
	 * party is asked to replace leg A, which it initiated). A Join names a
	 * confirmed call: an early one is the controller's to set up. */
	if (d->state == SHARD_DLG_EARLY && (join || x == SHARD_LEG_A)) {
		answer_replacing(w, m, 481, NULL, peer, peer_len);
		return;
	}
	const struct sip_session *y = &d->legs[!x];
	/* Sent by the party of leg Y itself (its address and its Contact): the
	 * new call would go back to its sender, to replace (or join) its own
	 * call with sipshard by a call with itself. RFC 3891 3 and RFC 3911 3
	 * have the UAS check that the sender may replace or join the dialog,
	 * and the party the new call goes to never may: 403. The party of leg
	 * X is the one whose place is taken, which is allowed; a third party
	 * behind the same address as Y's (a trunk) has another Contact. */
	if (peer_len == y->peer_len && memcmp(peer, &y->peer, peer_len) == 0 && m->ncontacts &&
	    sip_view_eq(m->buf, m->contacts[0].uri.whole, y->remote_target, y->remote_target_len)) {
		answer_replacing(w, m, 403, "Forbidden (names the sender's own call)", peer,
				 peer_len);
		return;
	}
	/* leg Y without its bodies: the controller needs where the party is
	 * and what it calls the dialog; then the credentials this dialog's
	 * requests answer that party's challenges with (orig_dlg_of: leg B's
	 * alone, the route's callee side; 0 for leg A's party, a caller, which
	 * must never be sent a carrier's credentials), for the new call's */
	struct sip_session lean = *y;
	char packed[SESSION_PACKED_MAX + sizeof(d->auth_key)];
	uint32_t auth_key = orig_dlg_of(d, !x).auth_key;
	session_body_clear(&lean.offer);
	session_body_clear(&lean.answer);
	size_t n = sip_session_pack(&lean, packed);
	memcpy(packed + n, &auth_key, sizeof(auth_key));
	n += sizeof(auth_key);
	int rc = to_controller_for(w, m, data, len, peer, peer_len, home, packed, (uint32_t)n);
	if (rc == -EMSGSIZE) {
		/* as the controller answers an INVITE whose copy for leg B
		 * would not fit a datagram, and counted with those */
		counter_inc(&w->st.rejected_too_large);
		answer_replacing(w, m, 513, NULL, peer, peer_len);
		return;
	}
	if (rc != 0) {
		(void)answer_here(w, m, 503, NULL, peer, peer_len);
		return;
	}
	counter_inc(&w->st.replaces_matched);
	return;
unchanged:
	counter_inc(&w->st.replaces_unmatched);
	if (to_controller_for(w, m, data, len, peer, peer_len, home, NULL, 0) != 0)
		(void)answer_here(w, m, 503, NULL, peer, peer_len);
}

/* placed: known to be on the worker that owns its Call-ID (another worker
 * passed it on, or the userspace scanner found that Call-ID here), so the
 * parsed Call-ID need not be looked up again; home: the worker that owns it
 * (this one, but for an INVITE with Replaces or Join handed here for the
 * dialog it names). */
static void handle_sip(struct worker *w, const char *data, uint32_t len,
		       const struct sockaddr *peer, socklen_t peer_len, bool placed, unsigned home)
{
	struct sip_msg *m = &w->msg;
	struct relay_result res;
	char why[160];

	if (sip_parse(m, data, len, NULL) != 0) {
		counter_inc(&w->st.rx_bad);
		if (sip_can_respond(m)) {
			int status = sip_error_status(m);
			sip_strerror(m, why, sizeof(why));
			if (!answer_here(w, m, status, why, peer, peer_len))
				return;
			if (status == 505)
				counter_inc(&w->st.answered_505);
			else
				counter_inc(&w->st.answered_400);
		} else {
			counter_inc(&w->st.dropped_unparsable);
		}
		return;
	}
	/* The steering scanner (BPF, or handed_off without it) looks at the first
	 * STEER_SCAN_MAX bytes and does not follow a folded Call-ID, which the
	 * parser does: a datagram it could not place is passed on here, by the
	 * Call-ID the parser found, or the owner's dialog would get 481. */
	if (!placed && w->d->nworkers > 1) {
		unsigned owner = w->d->bucket_owner[shard_bucket_of(
		    shard_hash_callid(m->buf + m->call_id.off, m->call_id.len))];
		if (owner != w->id) {
			counter_inc(&w->st.rx_foreign);
			hand_to(w, owner, data, len, peer, peer_len, 0);
			return;
		}
	}
	if (!m->is_request && shard_keepalive_branch(m->buf, m->vias[0].branch)) {
		keepalive_answered(w, m);
		return;
	}
	if (!m->is_request && orig_branch_is_ours(m->buf, m->vias[0].branch)) {
		/* the answer to a request of ours: ends here */
		const struct orig_io io = {send_orig, orig_done, orig_next_cseq, w};
		orig_on_response(&w->orig, m, clock_mono_ms(), &io);
		return;
	}
	bool in_dialog =
	    m->is_request ? m->to.has_tag : !relay_branch_is_controller(m->buf, m->vias[0].branch);
	/* a CANCEL with a To-tag is for a request in a dialog (a re-INVITE,
	 * RFC 3261 9.1: its To is that request's); the call's INVITE has none */
	if (!in_dialog) {
		if (m->is_request && m->method_id == SIP_METHOD_INVITE &&
		    (m->first[SIP_HDR_REPLACES] || m->first[SIP_HDR_JOIN])) {
			replacing_invite(w, m, data, len, peer, peer_len, home);
			return;
		}
		/* it fits a ring slot: receive buffers are DMSG_DATA_MAX bytes */
		if (to_controller(w, m, data, len, peer, peer_len) != 0 && m->is_request &&
		    m->method_id != SIP_METHOD_ACK)
			(void)answer_here(w, m, 503, NULL, peer, peer_len);
		return;
	}

	char *out = net_tx_alloc(w->io);
	if (!out) {
		counter_inc(&w->st.tx_no_buffer);
		return;
	}
	w->relay.now_ms = clock_mono_ms();
	w->relay.src = peer;
	w->relay.src_len = peer_len;
	if (m->is_request)
		relay_request(&w->relay, m, out, w->d->cfg->tx_buffer_size, &res);
	else
		relay_response(&w->relay, m, out, w->d->cfg->tx_buffer_size, &res);
	w->relay.src = NULL; /* the datagram's address lives no longer */
	switch (res.outcome) {
	case RELAY_SEND:
		send_tx(w, out, res.len, res.dst, res.dst_len);
		if (res.answer_200)
			answer_here(w, m, 200, NULL, peer, peer_len);
		break;
	case RELAY_ANSWER:
		send_tx(w, out, res.len, peer, peer_len);
		break;
	case RELAY_TO_CONTROLLER:
		net_tx_release(w->io, out);
		to_controller(w, m, data, len, peer, peer_len);
		break;
	case RELAY_DROP:
		net_tx_release(w->io, out);
		break;
	}
	if (res.session_refreshed)
		arm_dialog_again(w, res.session_refreshed);
	if (res.dialog_ended)
		ended_by_bye(w, &res);
	if (res.gone_status)
		dialog_gone(w, &res);
}

/* Without BPF steering, a datagram may land on a worker that does not own its
 * Call-ID: pass it to the owner (invariant 6). *placed: the scanner found the
 * Call-ID and this worker owns it (the scanner never names a Call-ID other
 * than the parser's: fuzz_sip checks it). */
static bool handed_off(struct worker *w, const char *data, uint32_t len,
		       const struct sockaddr *peer, socklen_t peer_len, bool *placed)
{
	struct daemon *d = w->d;
	int found;

	*placed = false;
	if (d->bpf_steering || d->nworkers == 1)
		return false;
	unsigned bucket = steer_bucket_of_datagram(data, len, &found);
	if (!found)
		return false;
	unsigned owner = d->bucket_owner[bucket];
	if (owner == w->id) {
		*placed = true;
		return false;
	}
	counter_inc(&w->st.rx_foreign);
	hand_to(w, owner, data, len, peer, peer_len, 0);
	return true;
}

/* Commands from the controller. */
static void drain_commands(struct worker *w)
{
	const struct dmsg_hdr *h;
	const void *payload;

	while (ring_peek(w->cmd, (const void **)&h, sizeof(*h), &payload) == 0) {
		switch (h->type) {
		case DMSG_INSTALL: {
			struct shard_dialog *d;
			uint64_t now = clock_mono_ms();
			/* another fork's 2xx takes the call's slot, with that
			 * fork's legs: what the caller and the first fork still
			 * had open in the first fork's early dialog is answered
			 * now, as at its end. The caller's BYE there, left open,
			 * got its final later and ended the call the other fork
			 * had answered, with no BYE to that fork. */
			d = shard_dialog_packed_takes_fork(&w->table, payload, h->len);
			if (d)
				end_pending(w, d);
			int rc = shard_dialog_install_packed(&w->table, payload, h->len, now, &d);
			if (rc == 0) {
				counter_inc(&w->st.dialogs_installed);
				/* the 2xx that confirms the call starts its session
				 * timer (an early dialog's install brings none) */
				shard_session_timer_start(d, now, h->reason);
				arm_dialog_again(w, d);
			} else {
				counter_inc(&w->st.installs_refused);
			}
			break;
		}
		case DMSG_SEND:
			/* after the INSTALL before it: the dialog is in the table */
			if (send_for_controller(w, payload, h->len,
						(const struct sockaddr *)&h->peer, h->peer_len))
				counter_inc(&w->st.sent_for_controller);
			break;
		case DMSG_RELEASE:
			if (shard_dialog_get(&w->table, h->slot, h->gen)) {
				free_dialog(w, h->slot, h->gen);
				tell_dialog_ended(w, h->slot, h->gen + 1, CTL_END_RELEASED);
			}
			break;
		case DMSG_CREDS:
			/* a route's credentials (orig.h): index slot of gen */
			orig_set_creds(&w->orig, h->slot, h->gen,
				       h->len == sizeof(struct orig_cred) ? payload : NULL);
			break;
		case DMSG_QUERY:
			/* a newer query replaces one not finished: the controller has
			 * given up on that one */
			if (h->len == sizeof(w->query)) {
				memcpy(&w->query, payload, sizeof(w->query));
				w->query_id = h->slot;
				w->query_active = true;
				counter_inc(&w->st.dialog_queries);
				w->query_cursor = w->query_matched = w->query_sent = 0;
				w->query_early = w->query_ack_wait = w->query_ending = 0;
			}
			break;
		default:
			break;
		}
		ring_pop(w->cmd);
	}
}

static void on_datagram(void *arg, const struct net_pkt *pkt)
{
	struct worker *w = arg;

	/* The controller pushes a dialog before it sends the response that makes
	 * the peer use it, so commands are applied before every datagram, not only
	 * once per batch: otherwise an ACK received in the same wake-up as the
	 * push would find no dialog. One atomic load when the ring is empty. */
	drain_commands(w);
	counter_inc(&w->st.rx);
	/* A dual-stack "[::]" socket gives an IPv4 peer as ::ffff:a.b.c.d. Taken
	 * as the IPv4 address it is, as the configuration names IPv4 targets:
	 * otherwise a response from such a target matched none (the resent
	 * final of a call gone was not ACKed, calls carried over a restart were
	 * counted on no target), and CDRs and dialogs showed the mapped form.
	 * Sending to an AF_INET address on a dual-stack socket works. */
	const struct sockaddr *peer = pkt->peer;
	socklen_t peer_len = pkt->peer_len;
	struct sockaddr_in v4;
	if (udp_addr_unmap(peer, peer_len, &v4)) {
		peer = (const struct sockaddr *)&v4;
		peer_len = sizeof(v4);
	}
	bool placed;
	if (handed_off(w, pkt->data, pkt->len, peer, peer_len, &placed))
		return;
	handle_sip(w, pkt->data, pkt->len, peer, peer_len, placed, w->id);
}

static void on_handoff(void *arg, unsigned from, const void *hdr, const void *payload)
{
	struct worker *w = arg;
	const struct dmsg_hdr *h = hdr;
	(void)from;

	/* As on_datagram: the controller sends an 18x directly once its early
	 * dialog's install is on this worker's ring, and the caller's PRACK or
	 * UPDATE may reach another worker and come here while this one is still
	 * draining handoffs: without the install applied it would get 481. */
	drain_commands(w);
	counter_inc(&w->st.handoff_in);
	handle_sip(w, payload, h->len, (const struct sockaddr *)&h->peer, h->peer_len, true,
		   h->home ? h->home - 1 : w->id);
}

/* Datagrams other workers received for this one's calls, HANDOFF_TURN of each
 * worker's ring at a time (ring_drain_fair): one worker flooded by a single
 * trunk does not hold up the others' handoffs. */
#define HANDOFF_TURN 32

uint32_t worker_drain_handoffs(struct worker *w)
{
	return ring_drain_fair(w->handoff_in, w->d->nworkers, sizeof(struct dmsg_hdr), HANDOFF_TURN,
			       WORKER_HANDOFF_DRAIN_MAX, on_handoff, w);
}

/* ---- management queries (dialogs.c asks) ------------------------------------ */

static bool query_call_id_matches(const struct dlg_query *q, const struct shard_dialog *d)
{
	if (!q->call_id_len)
		return true;
	for (int leg = SHARD_LEG_A; leg <= SHARD_LEG_B; leg++)
		if (d->legs[leg].call_id_len == q->call_id_len &&
		    memcmp(d->legs[leg].call_id, q->call_id, q->call_id_len) == 0)
			return true;
	return false;
}

/*
 * Whether the query acts on d. A bye or a request sent acts on answered
 * calls only, and not on one whose 2xx still waits for its ACK (RFC 3261
 * 15: the caller's side may not get a BYE before it, or before the 2xx's
 * transaction times out, 64*T1 after the dialog began: its 2xx, or sooner
 * for one that rang in an early dialog, whose first provisional began it;
 * not after its last activity, which a keep-alive answered every round or
 * any request moved on for good; leg B's 2xx, not yet ACKed, would never
 * be), nor on one that is ending (call_ending: a BYE of the operator's went
 * to a side that had hung up, the CDR took the operator's reason, and an
 * INFO or REFER went into a dialog being torn down). Each such call is
 * counted, so that the operator hears why rather than that there is none
 * (dialogs lists them).
 */
static bool query_matches(struct worker *w, const struct shard_dialog *d)
{
	const struct dlg_query *q = &w->query;

	if (d->state != SHARD_DLG_EARLY && d->state != SHARD_DLG_CONFIRMED)
		return false;
	if (!query_call_id_matches(q, d))
		return false;
	if (q->kind == DLG_QUERY_LIST)
		return true;
	if (d->state != SHARD_DLG_CONFIRMED) {
		/* set-up is the controller's: it cancels, not BYE */
		w->query_early++;
		return false;
	}
	if (call_ending(w, d)) {
		w->query_ending++;
		return false;
	}
	if ((d->legs[SHARD_LEG_A].session_state == SESSION_STATE_ACK_WAIT ||
	     d->legs[SHARD_LEG_B].session_state == SESSION_STATE_ACK_WAIT) &&
	    clock_mono_ms() < d->created_ms + 64ull * w->d->cfg->timers.t1_ms) {
		w->query_ack_wait++;
		return false;
	}
	return true;
}

/* Looks at the next DLG_QUERY_STEP slots of the table for the query; reports
 * the end of the scan when it gets there. A full ring to the controller stops
 * the step at the dialog it could not report, to go on at the next turn. */
static void query_step(struct worker *w)
{
	struct dmsg_hdr h = {.slot = w->query_id};
	uint32_t end = w->table.hdr->dlg_hwm, stop = w->query_cursor + DLG_QUERY_STEP;

	if (stop > end)
		stop = end;
	for (; w->query_cursor < stop; w->query_cursor++) {
		struct shard_dialog *d = &w->table.dialogs[w->query_cursor];
		if (!query_matches(w, d))
			continue;
		bool report = w->query.kind != DLG_QUERY_LIST || w->query_sent < w->query.limit;
		if (report) {
			/* packed in place: the ring copies what the call uses */
			char *slot = ring_reserve(w->evt);
			int n = slot ? shard_dialog_pack(d, slot + sizeof(h),
							 w->evt->slot_size - sizeof(h))
				     : -ENOBUFS;
			if (n < 0)
				return;
			h.type = DMSG_QUERY_DIALOG;
			h.len = (uint32_t)n;
			memcpy(slot, &h, sizeof(h));
			ring_commit(w->evt);
			w->query_sent++;
			w->evt_pushed = true;
		}
		w->query_matched++;
		if (w->query.kind == DLG_QUERY_SEND) {
			const struct dlg_query *q = &w->query;
			char refer_to[SESSION_URI_MAX + 16];
			struct relay_req req = {.method = q->method,
						.ctype = q->ctype[0] ? q->ctype : NULL,
						.body = q->body,
						.body_len = q->body_len};
			if (q->method == SIP_METHOD_REFER) {
				snprintf(refer_to, sizeof(refer_to), "Refer-To: <%s>\r\n",
					 q->refer_to);
				req.extra = refer_to;
			}
			w->relay.now_ms = clock_mono_ms();
			d->sent_seq++;
			bool sent = send_on_leg(w, d, q->leg, &req, sent_cookie(d));
			/* what was sent and its status agree (table.h) */
			shard_dialog_write_begin(d);
			d->sent_method = q->method;
			d->sent_leg = q->leg;
			d->sent_status = 0;
			shard_dialog_write_end(&w->table, d);
			if (sent && q->method == SIP_METHOD_REFER) {
				shard_refer_start(d, q->leg, d->legs[q->leg].local_cseq);
			} else if (!sent) {
				/* too large for a datagram (logged): 513, as a relayed
				 * request that does not fit is answered, rather than
				 * an operator told it went and waiting for nothing */
				d->sent_status = 513;
				tell_sent_final(w, d, 513);
			}
		}
		if (w->query.kind == DLG_QUERY_BYE) {
			uint32_t slot = d->slot, gen = d->gen;
			w->relay.now_ms = clock_mono_ms();
			end_call(w, d, "Q.850;cause=16;text=\"ended by the operator\"");
			free_dialog(w, slot, gen);
			tell_dialog_ended(w, slot, gen + 1, CTL_END_OPERATOR);
		}
	}
	if (w->query_cursor < end)
		return;
	h.type = DMSG_QUERY_DONE;
	h.len = 0;
	h.gen = w->table.hdr->dialogs_used;
	h.reason = w->query_matched;
	h.home = w->query_early;
	h.parsed_len = w->query_ack_wait;
	h.replaced_len = w->query_ending;
	if (ring_push(w->evt, &h, sizeof(h), NULL, 0) != 0)
		return;
	w->evt_pushed = true;
	w->query_active = false;
}

/* A dialog's deadline came. Activity does not touch the wheel (that would cost
 * every request); instead the deadline is checked here and, when the dialog
 * was active since, armed again from its last activity. */
static void on_dialog_timer(void *arg, uint64_t cookie, wheel_handle h)
{
	struct worker *w = arg;
	uint32_t slot = (uint32_t)(cookie >> 32), gen = (uint32_t)cookie;
	struct shard_dialog *d = shard_dialog_get(&w->table, slot, gen);
	(void)h;

	if (!d)
		return;
	d->timer = 0; /* this handle has fired */
	uint64_t transfer = transfer_deadline(w, d);
	if (transfer && w->relay.now_ms >= transfer) {
		/* no NOTIFY within Timer N: the subscription, and with it the
		 * transfer, has failed (RFC 6665 4.1.2.4) */
		shard_refer_timed_out(d);
		counter_inc(&w->st.transfers_timed_out);
	}
	/* a BYE relayed waits for its final: that final, or its transaction's
	 * timeout, ends the call (relay_expire, ended_by_bye; end_reason the
	 * BYE's). No keep-alive round meanwhile and no end of sipshard's own:
	 * they sent OPTIONS and a BYE into a dialog its side had ended, and the
	 * CDR took their reason. Looked at again after a transaction's life. */
	if (call_ending(w, d)) {
		wheel_add(&w->wheel, w->relay.now_ms + w->d->cfg->timers.transaction_timeout_ms,
			  cookie, &d->timer);
		return;
	}
	uint64_t end = end_deadline(w, d), keepalive = keepalive_deadline(w, d);
	/* a round due before the end runs first even when the end is due too:
	 * a worker that comes to both late (a new process taking the call
	 * over, a stalled thread) would otherwise end as idle a call whose
	 * sides nobody asked meanwhile, and one that this round ends as
	 * keepalive_failed. The round moves the idle deadline on by its
	 * lateness (shard_keepalive_round); a maximum duration or session
	 * timer passed too still ends the call, at the next tick. */
	if (keepalive && w->relay.now_ms >= keepalive && (!end || keepalive < end)) {
		keepalive_round(w, d);
		return;
	}
	if (!end || w->relay.now_ms < end) {
		arm_dialog(w, d);
		return;
	}
	counter_inc(&w->st.dialogs_expired);
	uint64_t max = max_duration_deadline(w, d), session = session_deadline(w, d);
	enum ctl_end_reason why = CTL_END_IDLE;
	/* Q.850 cause 102: recovery on timer expiry */
	const char *reason = "Q.850;cause=102;text=\"no requests in the dialog\"";
	if (max && w->relay.now_ms >= max) {
		why = CTL_END_MAX_DURATION;
		reason = "Q.850;cause=102;text=\"maximum call duration\"";
	} else if (session && w->relay.now_ms >= session) {
		why = CTL_END_SESSION_EXPIRED;
		counter_inc(&w->st.dialogs_session_expired);
		reason = "Q.850;cause=102;text=\"session timer expired\"";
	}
	end_dialog(w, d, why, reason);
}

/* Transactions share one timeout, so the table keeps them in creation order and
 * only the oldest is ever looked at; dialog deadlines live on the timing wheel.
 * Both are looked at once per EXPIRE_TICK_MS, not per batch, and so are the
 * retransmissions of the requests of ours (orig_tick) and of the 487s given at
 * a call's end (relay_resent_tick). */
#define EXPIRE_TICK_MS 10

void worker_expire(struct worker *w, uint64_t now)
{
	if (now < w->next_expire_ms)
		return;
	w->next_expire_ms = now + EXPIRE_TICK_MS;
	w->relay.now_ms = now;
	struct relay_result res;
	while (relay_expire(&w->relay, w->d->cfg->timers.transaction_timeout_ms, &res) == 0) {
		counter_inc(&w->st.txns_expired);
		if (res.dialog_ended)
			ended_by_bye(w, &res);
	}
	wheel_advance(&w->wheel, now, on_dialog_timer, w);
	orig_tick(&w->orig, now, send_orig, orig_done, w);
	relay_resent_tick(&w->relay, now, send_orig, w);
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct daemon *d = w->d;
	int timeout = d->bpf_steering ? 10 : 1;

	while (!atomic_load_explicit(&d->stop, memory_order_relaxed)) {
		drain_commands(w);
		if (w->query_active)
			query_step(w);
		/* a drain cut short by its bound left handoffs in the rings: the
		 * poll must not wait for datagrams (nor for a wake the producer
		 * gave before this drain) while they do */
		bool more = worker_drain_handoffs(w) == WORKER_HANDOFF_DRAIN_MAX;
		int n = net_io_poll(w->io, more ? 0 : timeout, on_datagram, w);
		if (n < 0 && n != -EINTR && n != -ETIME && n != -EAGAIN)
			log_warn("worker %u: receive failed: %s", w->id, strerror(-n));
		worker_expire(w, clock_mono_ms());
		net_io_flush(w->io);
		if (w->handed_to)
			wake_handed(w);
		if (w->evt_pushed) {
			uint64_t one = 1;
			w->evt_pushed = false;
			if (write(d->ctl_wake_fd, &one, sizeof(one)) < 0)
				(void)0; /* the controller also polls on a timeout */
		}
	}
	return NULL;
}
